#!/usr/bin/env python3
"""Elasticsearch sink against tests/fakes/fake_elasticsearch.py (documented _bulk semantics),
for the faults a real node cannot be made to produce (lost and malformed responses,
injected 5xx, authentication, a proxy's 404) and the ILM policy (the real nodes of
test_search_engines.py have no lifecycle API). Real 429/400/403/409/413 are there.

1. file sink path only (dead letters to a file), API-key auth, gzip: true bodies, through
   injected item 429s, request 429/503s, lost responses (re-sends meet 409) and a
   malformed response: exactly the expected documents, each once; the poison documents
   are in the dead-letter file; template and lifecycle policy installed; ECS fields.
2. (PostgreSQL and Elasticsearch together: test_search_engines.py, on real nodes.)
3. a data stream with basic auth: create-only, @timestamp present, exact; plain bodies (the default).
4. refusals: wrong API key → NOT_SERVING with a clear error and no secret in the log;
   a cluster refusing the template (403) → clear error, nothing written, then recovery.
5. required: false: Elasticsearch down, PostgreSQL exact, ingest stays SERVING, the
   optional sink's drops are counted.
6. a wrong URL path (404 from a proxy) blocks and dead-letters nothing (the real 413 and
   a real node's 400 "no handler found" are in test_search_engines.py).
"""

import json
import os
import pathlib
import sys
import time
import urllib.request

import common
import harness

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "fakes"))
import fake_elasticsearch  # noqa: E402

API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


def fake_get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return json.loads(r.read())


def fake_post(url, path, obj):
    req = urllib.request.Request(url + path, data=json.dumps(obj).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def es_yaml(url, extra=""):
    return ("  elasticsearch:\n"
            f"    urls: [\"{url}\"]\n"
            "    bulk_max_bytes: 256KiB\n"
            "    retry_min: 20ms\n"
            "    retry_max: 200ms\n" + extra)


def collector_yaml(port, http_port, sinks, extra=""):
    return (f"listen: 127.0.0.1:{port}\n"
            f"http: {{listen: 127.0.0.1:{http_port}}}\n"
            "health: {check_interval: 200ms, unhealthy_after: 1s}\n"
            "sinks:\n" + sinks + extra)


def write_lines(path, start, count, poison_every=0):
    with open(path, "a") as f:
        for i in range(start, start + count):
            tag = " POISON" if poison_every and i % poison_every == 0 else ""
            f.write(f"seq={i:08d} level=warn trace_id=t{i % 10} msg=\"es test\"{tag}\n")


def es_seqs(url):
    docs = fake_get(url, "/_fake/docs")
    seqs = []
    for index_docs in docs.values():
        for d in index_docs:
            seqs.append(int(d["message"].split()[0][4:]))
    return seqs


def wait_docs(url, expected, timeout, what):
    def ok():
        return fake_get(url, "/_fake/state")["docs"] >= expected
    try:
        harness.wait_until(ok, timeout, interval=0.3, what=what)
    except TimeoutError:
        raise AssertionError(f"{what}: {fake_get(url, '/_fake/state')['docs']} of {expected} documents")
    time.sleep(1.0)
    state = fake_get(url, "/_fake/state")
    assert state["docs"] == expected, f"{what}: {state['docs']} documents, expected {expected}"


def setup(name, **auth):
    """A work dir with logs/ and a fresh fake cluster: (work, logs, server, cluster, url)."""
    work = harness.make_workdir(name)
    logs = work / "logs"
    logs.mkdir()
    server, cluster = fake_elasticsearch.serve(**auth)
    return work, logs, server, cluster, f"http://127.0.0.1:{server.server_address[1]}"


def start_agent(agent_bin, work, port, logs, name="agent"):
    cfg = common.write_agent_config(work, port, str(logs / "*.log"))
    return harness.Proc([agent_bin, "--config", cfg], work, name=name)


def scenario_file_dead_letters(agent_bin, collector_bin):
    work, logs, server, cluster, url = setup("logship-es1", api_key=API_KEY)
    (work / "es.key").write_text(API_KEY + "\n")
    dead_dir = work / "dead"
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(collector_yaml(port, http_port, es_yaml(
        url, f"    api_key_file: {work / 'es.key'}\n    dead_letter_dir: {dead_dir}\n    retention_days: 7\n"
             "    gzip: true\n"),
        "pipeline:\n  - kv: {}\n"))
    # Faults before the first batch: everything below must still end exact.
    fake_post(url, "/_fake/faults", {"request_status": [429, 503, 429],
                                     "item_status": {"status": 429, "every": 7, "count": 4000},
                                     "lose_responses": 2, "malformed_responses": 1,
                                     "poison_substring": "POISON"})
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    agent = start_agent(agent_bin, work, port, logs)
    total, poison_every = 20_000, 2_000
    write_lines(logs / "app.log", 1, total, poison_every)
    poison = total // poison_every
    wait_docs(url, total - poison, 90, "scenario 1")
    seqs = es_seqs(url)
    assert len(seqs) == len(set(seqs)) == total - poison, "duplicates or gaps in Elasticsearch"
    assert set(seqs) == {i for i in range(1, total + 1) if i % poison_every}, "wrong documents stored"
    state = fake_get(url, "/_fake/state")
    assert state["conflicts"] > 0, "lost responses should have made the sink re-send (409 path)"
    assert state["gzip_requests"] == state["bulk_requests"] > 0, "bulk bodies must be gzip-compressed"
    assert all(a == f"ApiKey {API_KEY}" for a in state["authorization"]), "missing or wrong ApiKey header"
    assert state["ops"] == {"create": state["items"]}, f"only create ops expected: {state['ops']}"
    assert any(ct == "application/x-ndjson" for ct in state["content_types"])
    tmpl = state["templates"]["logship"]
    assert tmpl["index_patterns"] == ["logs-logship-*"] and tmpl["priority"] == 200, tmpl
    props = tmpl["template"]["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date_nanos" and props["labels"]["type"] == "flattened"
    assert tmpl["template"]["settings"]["index.lifecycle.name"] == "logship"
    policy = state["policies"]["logship"]["policy"]["phases"]
    assert policy["delete"]["min_age"] == "7d" and "rollover" not in policy["hot"]["actions"], policy
    assert list(state["indices"]) == [time.strftime("logs-logship-%Y.%m.%d", time.gmtime())], state["indices"]
    doc = fake_get(url, "/_fake/docs")[list(state["indices"])[0]][0]
    assert doc["host"]["name"] and doc["agent"]["id"] == "test-agent" and doc["ecs"]["version"] == "8.11.0"
    assert doc["log"]["file"]["path"] == str(logs / "app.log") and doc["log"]["level"] == "warn"
    assert doc["service"]["name"] == "e2e" and doc["labels"]["service"] == "e2e"
    assert doc["trace"]["id"].startswith("t") and doc["event"]["severity"] == 13, doc
    assert doc["@timestamp"].endswith("Z") and doc["event"]["created"]
    # Dead letters: one JSON line per poison document, with the item error.
    letters = [json.loads(line) for line in (dead_dir / "elasticsearch-dead-letter.ndjson").read_text().splitlines()]
    assert len(letters) == poison, f"{len(letters)} dead letters, expected {poison}"
    assert all(l["code"] == "400 mapper_parsing_exception" and "POISON" in l["payload"] for l in letters)
    assert common.scrape_metric(http_port, 'logship_collector_sink_dead_lettered_total{sink="elasticsearch"}') == poison
    committed = common.scrape_metric(http_port, 'logship_collector_sink_records_total{sink="elasticsearch"}')
    assert committed == total, f"{committed} records counted as committed, expected {total}"
    assert (common.scrape_metric(http_port, 'logship_collector_es_malformed_responses_total{sink="elasticsearch"}') or 0) >= 1
    assert (common.scrape_metric(http_port, 'logship_collector_es_items_retried_total{sink="elasticsearch"}') or 0) > 0
    log = (work / "collector.log").read_text()
    assert API_KEY not in log, "the API key appeared in the collector log"
    agent.terminate()
    collector.terminate()
    server.shutdown()
    print(f"scenario 1: {total - poison} documents exact through 429/503/lost/malformed responses; "
          f"{state['conflicts']} re-sent documents met 409; {poison} dead letters in a file")


def scenario_data_stream(agent_bin, collector_bin):
    work, logs, server, cluster, url = setup("logship-es3", basic="logship:s3cret-pw")
    (work / "pw").write_text("s3cret-pw\n")
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(collector_yaml(port, http_port, es_yaml(
        url, "    data_stream: logs-logship-default\n    username: logship\n"
             f"    password_file: {work / 'pw'}\n    dead_letter_dir: {work / 'dead'}\n")))
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    agent = start_agent(agent_bin, work, port, logs)
    write_lines(logs / "app.log", 1, 5_000)
    wait_docs(url, 5_000, 60, "scenario 3 (data stream)")
    state = fake_get(url, "/_fake/state")
    assert state["data_streams"] == ["logs-logship-default"], state["data_streams"]
    assert "data_stream" in state["templates"]["logship"]
    assert "rollover" in state["policies"]["logship"]["policy"]["phases"]["hot"]["actions"]
    assert state["item_errors"] == 0
    assert state["gzip_requests"] == 0 < state["bulk_requests"], "bodies are plain NDJSON unless gzip: true"
    assert "s3cret-pw" not in (work / "collector.log").read_text()
    agent.terminate()
    collector.terminate()
    server.shutdown()
    print("scenario 3: 5000 documents into data stream logs-logship-default with basic auth")


def scenario_refusals(agent_bin, collector_bin):
    work, logs, server, cluster, url = setup("logship-es4", api_key=API_KEY)
    (work / "wrong.key").write_text("d3Jvbmcta2V5\n")
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(collector_yaml(port, http_port, es_yaml(
        url, f"    api_key_file: {work / 'wrong.key'}\n    dead_letter_dir: {work / 'dead'}\n")))
    collector = common.start_collector(collector_bin, cfg, work, name="collector-badkey")

    def not_serving():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=2)
            return False
        except urllib.error.HTTPError as e:
            return e.code == 503
        except OSError:
            return False
    harness.wait_until(not_serving, 20, interval=0.2, what="NOT_SERVING with a wrong API key")
    log = (work / "collector-badkey.log").read_text()
    assert "api_key_file" in log and "401" in log, "no clear error about the refused credentials:\n" + log[-2000:]
    assert "d3Jvbmcta2V5" not in log, "the API key appeared in the log"
    collector.terminate()
    print("scenario 4a: a wrong API key → 401 named in the log, /healthz 503, key never logged")

    # A cluster that refuses the template: clear error, nothing written; then it allows it.
    (work / "es.key").write_text(API_KEY)
    cfg.write_text(collector_yaml(port, http_port, es_yaml(
        url, f"    api_key_file: {work / 'es.key'}\n    dead_letter_dir: {work / 'dead'}\n")))
    fake_post(url, "/_fake/faults", {"setup_status": 403})
    collector = common.start_collector(collector_bin, cfg, work, name="collector-notemplate")
    agent = start_agent(agent_bin, work, port, logs)
    write_lines(logs / "app.log", 1, 1_000)
    harness.wait_until(lambda: "manage_ilm" in (work / "collector-notemplate.log").read_text(), 20,
                       what="a clear error about the refused lifecycle policy")
    time.sleep(1.0)
    assert fake_get(url, "/_fake/state")["docs"] == 0, "documents written before the template was installed"
    fake_post(url, "/_fake/faults", {"setup_status": None})
    wait_docs(url, 1_000, 60, "scenario 4b (after the template was allowed)")
    agent.terminate()
    collector.terminate()
    server.shutdown()
    print("scenario 4b: template refused (403) → error naming manage_ilm, no writes; allowed → exact")


def scenario_optional(agent_bin, collector_bin, pg):
    work = harness.make_workdir("logship-es5")
    logs = work / "logs"
    logs.mkdir()
    dead_port = harness.free_port()  # nothing listens: Elasticsearch is down
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    pg.query("DROP TABLE IF EXISTS logs")
    cfg.write_text(collector_yaml(port, http_port,
                                  "  postgres:\n"
                                  f"    dsn: \"{pg.dsn}\"\n"
                                  "    table: logs\n" +
                                  es_yaml(f"http://127.0.0.1:{dead_port}",
                                          "    required: false\n    queue_max_bytes: 1MiB\n"
                                          "    retry_budget: 0s\n    manage_template: false\n")))
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    agent = start_agent(agent_bin, work, port, logs)
    write_lines(logs / "app.log", 1, 50_000)
    common.assert_exact(pg, 50_000, 90, "scenario 5 (postgres, elasticsearch optional and down)")
    common.wait_healthy(collector_bin, port, timeout=5)
    dropped = common.scrape_metric(http_port, 'logship_collector_sink_dropped_records_total{sink="elasticsearch"}')
    assert dropped and dropped > 0, "an optional sink that is down must count what it drops"
    agent.terminate()
    collector.terminate()
    print(f"scenario 5: optional elasticsearch down → postgres exact (50000), {dropped:.0f} records counted dropped")


def scenario_proxy_404(agent_bin, collector_bin):
    work, logs, server, cluster, url = setup("logship-es6")
    dead = work / "dead"
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    # A proxy path that is not Elasticsearch: 404 blocks the sink; nothing is dead-lettered.
    cfg.write_text(collector_yaml(port, http_port, es_yaml(url + "/not/es", f"    dead_letter_dir: {dead}\n"
                                                                            "    manage_template: false\n")))
    collector = common.start_collector(collector_bin, cfg, work, name="collector-404")
    agent = start_agent(agent_bin, work, port, logs, name="agent-404")
    with open(logs / "app.log", "a") as f:
        f.write("".join(f"seq={i:08d} line\n" for i in range(201, 301)))
    harness.wait_until(lambda: "check urls" in (work / "collector-404.log").read_text(), 30,
                       what="an error naming the URL")
    time.sleep(1.0)
    assert not (dead / "elasticsearch-dead-letter.ndjson").exists(), "a 404 must not dead-letter documents"
    assert fake_get(url, "/_fake/state")["docs"] == 0
    agent.terminate()
    collector.terminate()
    server.shutdown()
    print("scenario 6: a 404 path → blocked, nothing dead-lettered")


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    scenario_file_dead_letters(agent_bin, collector_bin)
    scenario_data_stream(agent_bin, collector_bin)
    scenario_refusals(agent_bin, collector_bin)
    scenario_proxy_404(agent_bin, collector_bin)
    with harness.PostgresServer() as pg:
        scenario_optional(agent_bin, collector_bin, pg)
    print("elasticsearch: all scenarios passed")


if __name__ == "__main__":
    main()
