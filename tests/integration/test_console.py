#!/usr/bin/env python3
"""The web console's JSON API against a real PostgreSQL and a real agent:

1. access: without the bearer token every /api/v1/ endpoint answers 401 and no log line;
   the page itself (no data in it) is served with a strict Content-Security-Policy;
2. search: time range, host, source, severity, text (with LIKE metacharacters), attribute
   filters; newest first; cursor paging visits every row exactly once;
3. correlation: every line with a trace_id / correlation_id, from every host, oldest first;
4. volume: counts per step and severity add up to the rows in range;
5. agents: the agent that ships is listed, connected, with host, version and rates;
6. live tail: a line appended to the agent's file arrives as a server-sent event;
7. escaping: a line holding <script> comes back with < escaped (\\u003c) in the JSON.
"""

import json
import pathlib
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import common
import harness

TOKEN = "console-test-token-0123456789"


def collector_yaml(port, pg, http_port, token_file):
    return (f"listen: 127.0.0.1:{port}\n"
            "sinks:\n  postgres:\n"
            f"    dsn: \"{pg.dsn}\"\n"
            f"    read_dsn: \"{pg.dsn} application_name=console-read\"\n"
            "    search_indexes: true\n"
            "    attributes_index: true\n"
            f"http: {{listen: 127.0.0.1:{http_port}}}\n"
            f"console: {{enabled: true, token_file: {token_file}, statement_timeout: 5s}}\n"
            "pipeline:\n  - json: {when: {source: '*.json.log'}}\n")


def start_collector(collector_bin, pg, work, token):
    """A collector with the console on (token `token`); waits for its health. (proc, port, http_port)"""
    token_file = work / "console.token"
    token_file.write_text(token + "\n")
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(collector_yaml(port, pg, http_port, token_file))
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    return collector, port, http_port


class Api:
    def __init__(self, http_port):
        self.base = f"http://127.0.0.1:{http_port}"

    def get(self, path, params=None, token=TOKEN, timeout=10):
        url = self.base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        req = urllib.request.Request(url)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path, params=None):
        status, _, body = self.get(path, params)
        assert status == 200, (path, params, status, body[:300])
        return json.loads(body)


def insert_rows(pg):
    """Known rows, timestamps relative to now so they fall in the default ranges."""
    pg.query("""
      INSERT INTO logs (id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id)
      SELECT gen_random_uuid(), now() - (i || ' seconds')::interval, now(),
             'web-' || (i % 3), 'bulk', '/var/log/app-' || (i % 2) || '.log',
             CASE WHEN i % 10 = 0 THEN 17 WHEN i % 5 = 0 THEN 13 ELSE 9 END,
             'request ' || i || CASE WHEN i % 50 = 0 THEN ' took 100%_of budget' ELSE ' ok' END,
             jsonb_build_object('service', CASE WHEN i % 4 = 0 THEN 'checkout' ELSE 'cart' END, 'n', i::text),
             NULL, NULL
      FROM generate_series(1, 250) AS i;
      INSERT INTO logs (id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id)
      VALUES
        (gen_random_uuid(), now() - interval '30 minutes', now(), 'api-1', 'x', '/a', 9, 'trace step 1', '{}', 'trace-abc', NULL),
        (gen_random_uuid(), now() - interval '20 minutes', now(), 'db-1', 'x', '/b', 13, 'trace step 2', '{}', 'trace-abc', NULL),
        (gen_random_uuid(), now() - interval '10 minutes', now(), 'web-9', 'x', '/c', 17, 'trace step 3', '{}', NULL, 'trace-abc'),
        (gen_random_uuid(), now() - interval '40 minutes', now(), 'web-9', 'x', '/c', 9, 'other trace', '{}', 'trace-zzz', NULL),
        (gen_random_uuid(), now() - interval '3 days', now(), 'old-1', 'x', '/old', 9, 'request old', '{}', NULL, NULL);
    """)


def access_case(api, env):
    for path in ("/api/v1/agents", "/api/v1/search", "/api/v1/search?text=request", "/api/v1/correlation/trace-abc",
                 "/api/v1/volume", "/api/v1/tail", "/api/v1/nope"):
        for token in (None, "wrong-token-wrong-token", TOKEN + "x", ""):
            status, headers, body = api.get(path, token=token)
            assert status == 401, (path, token, status)
            assert b"request" not in body and b"trace step" not in body, body
            assert headers.get("WWW-Authenticate", "").startswith("Bearer"), headers
    # Basic auth with the token as password is not accepted either.
    req = urllib.request.Request(api.base + "/api/v1/search", headers={"Authorization": "Basic " + TOKEN})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("basic auth was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 401
    status, headers, body = api.get("/", token=None)
    assert status == 200 and b"logship console" in body, status
    assert "script-src 'self'" in headers["Content-Security-Policy"], headers
    assert headers["X-Frame-Options"] == "DENY"
    status, headers, body = api.get("/app.js", token=None)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert api.get("/nothing-here", token=None)[0] == 404
    # Still there: /metrics and /healthz.
    assert api.get("/metrics", token=None)[0] == 200
    assert api.get("/healthz", token=None)[0] == 200
    # Authenticated, but wrong: JSON errors.
    assert api.get("/api/v1/nope")[0] == 404
    for bad in ({"limit": "0"}, {"severity": "loud"}, {"cursor": "garbage"}, {"from": "yesterday"},
                {"attr": "novalue"}):
        status, _, body = api.get("/api/v1/search", bad)
        assert status == 400 and "parameter" in json.loads(body)["error"], (bad, status, body)
    return "401 without a valid token on every endpoint; page served with CSP; 400 on bad parameters"


def search_case(api, env):
    pg = env["pg"]
    d = api.json("/api/v1/search", {"host": "web-1", "limit": "500"})
    assert len(d["records"]) == 84 and all(r["host"] == "web-1" for r in d["records"]), len(d["records"])
    ts = [r["ts_us"] for r in d["records"]]
    assert ts == sorted(ts, reverse=True), "not newest first"
    assert d["next_cursor"] is None
    d = api.json("/api/v1/search", {"source": "/var/log/app-0.log", "severity": "error", "limit": "500"})
    assert len(d["records"]) == 25 and all(r["level"] == "error" for r in d["records"]), len(d["records"])
    d = api.json("/api/v1/search", {"severity": "warn", "limit": "500", "host": "web-0"})
    assert {r["level"] for r in d["records"]} == {"warn", "error"}, d["records"][:2]
    d = api.json("/api/v1/search", {"text": "100%_OF"})  # % and _ are literal; case-insensitive
    assert len(d["records"]) == 5 and all("100%_of" in r["body"] for r in d["records"]), d
    assert api.json("/api/v1/search", {"text": "100x"})["records"] == []
    d = api.json("/api/v1/search", {"attr": ["service=checkout", "n=8"]})
    assert [r["body"] for r in d["records"]] == ["request 8 ok"], d
    d = api.json("/api/v1/search", {"attr": "service=checkout", "limit": "500"})
    assert len(d["records"]) == 62, len(d["records"])
    # The time range: the 3-day-old row only with a wide range.
    assert api.json("/api/v1/search", {"text": "request old"})["records"] == []
    assert len(api.json("/api/v1/search", {"text": "request old", "from": "now-4d"})["records"]) == 1
    # Paging: every matching row exactly once, in order.
    total = int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'bulk'"))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": "60", "text": "request", "source": "/var/log/app-1.log"}
        if cursor:
            params["cursor"] = cursor
        d = api.json("/api/v1/search", params)
        seen += [r["id"] for r in d["records"]]
        pages += 1
        cursor = d["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 125, (len(seen), len(set(seen)))
    assert pages == 3, pages
    # The reads went to read_dsn (its application_name), on the console's own connections.
    assert int(pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'console-read'")) >= 1
    return f"filters exact over {total} rows; {len(seen)} rows over {pages} pages, no repeats; query {d['query_ms']} ms"


def correlation_case(api, env):
    d = api.json("/api/v1/correlation/trace-abc")
    assert [r["body"] for r in d["records"]] == ["trace step 1", "trace step 2", "trace step 3"], d
    assert [r["host"] for r in d["records"]] == ["api-1", "db-1", "web-9"]
    assert d["records"][2]["correlation_id"] == "trace-abc" and d["truncated"] is False
    assert api.json("/api/v1/correlation/" + urllib.parse.quote("no such id'; --"))["records"] == []
    return "3 lines from 3 hosts, oldest first (trace_id and correlation_id)"


def volume_case(api, env):
    d = api.json("/api/v1/volume", {"from": "now-10m", "to": "now", "step": "60", "attr": "service=cart"})
    assert d["step"] == 60
    total = sum(sum(b["counts"].values()) for b in d["buckets"])
    expected = int(env["pg"].scalar("SELECT count(*) FROM logs WHERE ts >= now() - interval '10 minutes' "
                                    "AND attributes @> '{\"service\":\"cart\"}'"))
    assert total == expected and total > 0, (total, expected)
    levels = set().union(*(b["counts"].keys() for b in d["buckets"]))
    assert levels <= {"info", "warn", "error"}, levels
    assert all(b["t"] % 60 == 0 for b in d["buckets"])
    d = api.json("/api/v1/volume")
    assert len(d["buckets"]) <= 121, len(d["buckets"])
    return f"{total} lines in {len(d['buckets'])} buckets by severity"


def agents_case(api, env):
    def listed():
        d = api.json("/api/v1/agents")
        return [a for a in d["agents"] if a["id"] == "console-agent" and a["connected"] and a["records_total"] >= 1]
    harness.wait_until(listed, 30, what="the agent in /api/v1/agents")
    d = api.json("/api/v1/agents")
    a = [a for a in d["agents"] if a["id"] == "console-agent"][0]
    assert a["version"] == "0.1.0", a
    assert a["host"], a
    assert a["last_batch"] and a["records_per_second"] > 0 and a["bytes_per_second"] > 0, a
    assert a["spool_bytes"] is None
    assert d["healthy"] is True
    # The agent's records count on receipt; the sink's once PostgreSQL committed them.
    def sinks():
        return {s["name"]: s for s in api.json("/api/v1/agents")["sinks"]}
    harness.wait_until(lambda: sinks()["postgres"]["records_total"] >= 1, 30, what="the sink's committed records")
    assert sinks()["postgres"]["errors_total"] == 0, sinks()
    return f"agent {a['id']} on {a['host']} v{a['version']}, {a['records_per_second']:.2f} lines/s"


def tail_case(api, env):
    url = api.base + "/api/v1/tail?" + urllib.parse.urlencode({"text": "tail-marker", "severity": "warn"})
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    resp = urllib.request.urlopen(req, timeout=10)
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    time.sleep(1.5)
    with open(env["log"], "a") as f:
        f.write('{"level":"info","msg":"tail-marker quiet"}\n')
        f.write('{"level":"error","msg":"tail-marker <script>alert(1)</script>","trace_id":"t-tail"}\n')
    start = time.monotonic()
    buf = b""
    events = []
    while time.monotonic() - start < 20 and not events:
        line = resp.readline()
        buf += line
        if line.startswith(b"data: ") and b"tail-marker" in line:
            events.append(line)
    resp.close()
    assert events, buf[-500:]
    raw = events[0]
    assert b"<script>" not in raw and b"\\u003cscript\\u003e" in raw, raw
    rec = json.loads(raw[len(b"data: "):])
    assert rec["body"].endswith("tail-marker <script>alert(1)</script>"[-30:]) or "<script>" in rec["body"], rec
    assert rec["level"] == "error" and rec["trace_id"] == "t-tail", rec
    # The quiet (info) line did not pass the severity filter.
    assert b"tail-marker quiet" not in buf
    return f"line arrived {time.monotonic() - start:.1f} s after it was written; <script> escaped in the event"


def escaping_case(api, env):
    status, _, body = api.get("/api/v1/search", {"text": "<script>"})
    assert status == 200
    assert b"<script>" not in body and b"\\u003cscript\\u003e" in body, body[:300]
    assert "<script>alert(1)</script>" in json.loads(body)["records"][0]["body"]
    return "search result JSON carries <script> as \\u003cscript\\u003e"


def limits_case(api, env):
    # More live tails than max_tail_streams (4): the fifth is refused with 429.
    # A closed tail's slot is released once a keep-alive write (one a second) finds the
    # connection gone, so the one of tail_case may still be held for a moment.
    opened = []

    def open_four():
        while len(opened) < 4:
            req = urllib.request.Request(api.base + "/api/v1/tail", headers={"Authorization": f"Bearer {TOKEN}"})
            try:
                opened.append(urllib.request.urlopen(req, timeout=10))
            except urllib.error.HTTPError as e:
                assert e.code == 429, e.code
                return False
        return True
    harness.wait_until(open_four, 15, interval=0.5, what="four live tails open")
    status, _, body = api.get("/api/v1/tail")
    assert status == 429, status
    for r in opened:
        r.close()

    def slot_free():  # opens a tail (without reading its endless body) and closes it
        req = urllib.request.Request(api.base + "/api/v1/tail", headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            urllib.request.urlopen(req, timeout=3).close()
            return True
        except urllib.error.HTTPError as e:
            assert e.code == 429, e.code
            return False
    # The slots are freed once the server notices the closed connections (next keep-alive write).
    harness.wait_until(slot_free, 10, interval=0.5, what="a live tail slot freed")
    return "a fifth live tail is refused (429)"


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-console")
    with harness.PostgresServer() as pg:
        collector, port, http_port = start_collector(collector_bin, pg, work, TOKEN)
        harness.wait_until(lambda: pg.scalar("SELECT to_regclass('logs_body_trgm_idx') IS NOT NULL") == "t", 30,
                           what="trigram index")
        insert_rows(pg)
        logs = work / "logs"
        logs.mkdir()
        log = logs / "app.json.log"
        log.write_text('{"level":"info","msg":"hello from the console test"}\n')
        acfg = common.write_agent_config(work, port, f"{logs}/*.log", agent_id="console-agent",
                                         extra="http: {listen: \"\"}\n")
        harness.Proc([agent_bin, "--config", acfg], work, name="agent")
        api = Api(http_port)
        env = {"pg": pg, "log": log, "work": work}
        passed = 0
        for case in (access_case, search_case, correlation_case, volume_case, agents_case, tail_case, escaping_case,
                     limits_case):
            try:
                note = case(api, env)
            except BaseException:
                print(f"FAILED: {case.__name__}\n--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
                raise
            assert collector.alive(), f"{case.__name__}: the collector died"
            print(f"ok {case.__name__}: {note}")
            passed += 1
        # A live tail still open does not hold up a clean stop.
        tails = []

        def open_tail():  # slots of closed tails free up within a few seconds
            try:
                tails.append(urllib.request.urlopen(urllib.request.Request(
                    api.base + "/api/v1/tail", headers={"Authorization": f"Bearer {TOKEN}"}), timeout=10))
                return True
            except urllib.error.HTTPError as e:
                assert e.code == 429, e.code
                return False
        harness.wait_until(open_tail, 15, interval=0.5, what="a live tail")
        tail = tails[0]
        start = time.monotonic()
        assert collector.terminate() == 0, "the collector did not stop cleanly"
        assert time.monotonic() - start < 5, "stopping waited for the live tail"
        tail.close()
    print(f"console: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
