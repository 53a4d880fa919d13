#!/usr/bin/env python3
"""Console query times on a large table (not run in CI; minutes of loading).

Starts a throwaway PostgreSQL (tests/integration/harness.py, with shared_buffers 2GB),
the collector with the console on (search_indexes and attributes_index), loads --rows rows
(default 10,000,000) spread over the last 24 hours from 50 hosts, builds the indexes after
the load, and times each console API call --runs times (median, and the query_ms the API
reports). The data: 50 hosts, 5 sources, severities mostly info, 10 services, a trace id
on one row in five (traces of up to five lines).

usage: scripts/bench/console_query.py [--rows 10000000] [--runs 5] [--build-dir build]
"""

import argparse
import json
import pathlib
import statistics
import sys
import time
import urllib.parse
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/integration"))
import common  # noqa: E402
import harness  # noqa: E402

TOKEN = "bench-console-token-0123456789"

LOAD = """
INSERT INTO logs (id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id)
SELECT gen_random_uuid(), now() - (i * {span} / {rows}) * interval '1 second', now(),
       'web-' || lpad((i % 50)::text, 2, '0'), 'web-' || lpad((i % 50)::text, 2, '0'),
       (ARRAY['/var/log/nginx/access.log','/var/log/app/app.log','/var/log/app/worker.log',
              '/var/log/syslog','/var/log/postgresql/postgresql.log'])[1 + i % 5],
       CASE WHEN i % 97 = 0 THEN 17 WHEN i % 13 = 0 THEN 13 WHEN i % 7 = 0 THEN 5 ELSE 9 END,
       CASE i % 6
         WHEN 0 THEN 'GET /api/cart/' || (i % 100000) || ' status=200 duration_ms=' || (i % 900)
         WHEN 1 THEN 'POST /api/checkout order=' || i || ' status=201 user=' || (i % 200000)
         WHEN 2 THEN 'cache miss key=session:' || md5((i % 100000)::text)
         WHEN 3 THEN 'worker job ' || i || ' done in ' || (i % 3000) || ' ms queue=' || (ARRAY['mail','billing','export'])[1 + i % 3]
         WHEN 4 THEN 'connection from 10.' || (i % 250) || '.' || (i % 199) || '.' || (i % 97) || ' accepted'
         ELSE CASE WHEN i % 1000 = 5 THEN 'upstream timeout after 30s calling payments-' || (i % 7)
                   ELSE 'healthcheck ok uptime=' || i END END,
       jsonb_build_object('service', (ARRAY['cart','checkout','search','auth','payments','mail','export',
                                            'billing','catalog','gateway'])[1 + i % 10], 'env', 'prod'),
       CASE WHEN i % 5 = 0 THEN 'trace-' || (i / 25) END, NULL
FROM generate_series({start}, {end}) AS i
"""


def api(base, path, params):
    url = base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    start = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        body = json.loads(r.read())
    return (time.monotonic() - start) * 1000, body


def start_console_collector(collector_bin, pg, work):
    """The collector with the console on, its indexes too; (process, http port) once healthy."""
    port, http_port = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\n"
                   f"sinks:\n  postgres:\n    dsn: \"{pg.dsn}\"\n    search_indexes: true\n"
                   "    attributes_index: true\n"
                   f"http: {{listen: 127.0.0.1:{http_port}}}\n"
                   f"console: {{enabled: true, token_file: {work / 'console.token'}, statement_timeout: 30s}}\n")
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    return collector, http_port


def load_rows(pg, rows):
    """Loads the rows, then builds the text and attribute indexes (as after a bulk import)."""
    pg.query("DROP INDEX IF EXISTS logs_body_trgm_idx; DROP INDEX IF EXISTS logs_attributes_idx; "
             "DROP INDEX IF EXISTS logs_ts_id_idx")
    t0 = time.monotonic()
    chunk = 1_000_000
    for start in range(1, rows + 1, chunk):
        end = min(rows, start + chunk - 1)
        pg.query(LOAD.format(span=86400.0, rows=float(rows), start=start, end=end))
        print(f"loaded {end:,} rows ({time.monotonic() - t0:.0f} s)", flush=True)
    t1 = time.monotonic()
    pg.query("CREATE INDEX logs_body_trgm_idx ON logs USING gin (body gin_trgm_ops)")
    t2 = time.monotonic()
    pg.query("CREATE INDEX logs_ts_id_idx ON logs (ts, id)")
    t2b = time.monotonic()
    pg.query("CREATE INDEX logs_attributes_idx ON logs USING gin (attributes jsonb_path_ops)")
    t3 = time.monotonic()
    pg.query("VACUUM ANALYZE logs")
    size = pg.scalar("SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                     "JOIN pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = 'logs'::regclass")
    trgm = pg.scalar("SELECT pg_size_pretty(sum(pg_relation_size(format('%I.%I', schemaname, indexname)::regclass))) "
                     "FROM pg_indexes WHERE indexdef LIKE '%gin_trgm_ops%'")
    print(f"load {t1 - t0:.0f} s, trigram index {t2 - t1:.0f} s ({trgm}), (ts, id) index {t2b - t2:.0f} s, "
          f"attributes index {t3 - t2b:.0f} s; "
          f"table with indexes {size}")


def query_cases(base):
    """[(name, API path, params)] of the timed calls (one pages with the cursor of page 11)."""
    _, first = api(base, "/api/v1/search", {"from": "now-25h", "limit": "100"})
    cursor10 = None
    c = None
    for _ in range(10):
        _, page = api(base, "/api/v1/search", {"from": "now-25h", "limit": "100", **({"cursor": c} if c else {})})
        c = page["next_cursor"]
    cursor10 = c
    return [
        ("search, last 1 h, no filter (newest 100)", "/api/v1/search", {"from": "now-1h"}),
        ("search, last 24 h, no filter (newest 100)", "/api/v1/search", {"from": "now-24h"}),
        ("search, 24 h, page 11 via cursor", "/api/v1/search", {"from": "now-25h", "cursor": cursor10}),
        ("search, 24 h, host=web-07", "/api/v1/search", {"from": "now-24h", "host": "web-07"}),
        ("search, 24 h, severity>=error", "/api/v1/search", {"from": "now-24h", "severity": "error"}),
        ("search, 24 h, text 'upstream timeout' (1 line in 3,000)", "/api/v1/search",
         {"from": "now-24h", "text": "upstream timeout"}),
        ("search, 24 h, text 'order=4242' (~190 lines)", "/api/v1/search", {"from": "now-24h", "text": "order=4242"}),
        ("search, 24 h, text 'checkout' (1 line in 6)", "/api/v1/search", {"from": "now-24h", "text": "checkout"}),
        ("search, 24 h, attr service=payments", "/api/v1/search", {"from": "now-24h", "attr": "service=payments"}),
        ("search, 24 h, text + host + severity", "/api/v1/search",
         {"from": "now-24h", "text": "timeout", "host": "web-05", "severity": "info"}),
        ("correlation by trace_id", "/api/v1/correlation/trace-123456", None),
        ("volume, last 1 h (1 min steps)", "/api/v1/volume", {"from": "now-1h", "step": "60"}),
        ("volume, last 24 h (10 min steps)", "/api/v1/volume", {"from": "now-24h", "step": "600"}),
    ]


def time_cases(base, cases, rows, runs):
    """Prints the table: rows returned, median wall and SQL time of each call."""
    print(f"\n{rows:,} rows; median of {runs} runs (first run excluded as warm-up)\n")
    print(f"{'query':50} {'rows':>5} {'wall ms':>9} {'SQL ms':>8}")
    for name, path, params in cases:
        api(base, path, params)  # warm-up
        walls, sqls, n = [], [], 0
        for _ in range(runs):
            wall, body = api(base, path, params)
            walls.append(wall)
            sqls.append(body.get("query_ms", 0))
            n = len(body.get("records", body.get("buckets", [])))
        print(f"{name:50} {n:>5} {statistics.median(walls):>9.1f} {statistics.median(sqls):>8.1f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build-dir", default=str(REPO / "build"))
    args = ap.parse_args()
    collector_bin = pathlib.Path(args.build_dir) / "collector" / "logship-collector"
    work = harness.make_workdir("logship-bench-console")
    (work / "console.token").write_text(TOKEN + "\n")
    with harness.PostgresServer() as pg:
        pg.query("ALTER SYSTEM SET shared_buffers = '2GB'")
        pg.query("ALTER SYSTEM SET maintenance_work_mem = '1GB'")
        pg.query("ALTER SYSTEM SET max_parallel_maintenance_workers = 2")
        pg.restart()
        collector, http_port = start_console_collector(collector_bin, pg, work)
        load_rows(pg, args.rows)
        base = f"http://127.0.0.1:{http_port}"
        time_cases(base, query_cases(base), args.rows, args.runs)
        assert collector.terminate() == 0

if __name__ == "__main__":
    main()
