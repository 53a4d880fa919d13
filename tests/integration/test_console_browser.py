#!/usr/bin/env python3
"""The web console end to end in Debian's chromium (tests/console/e2e.mjs, playwright-core).

Runs PostgreSQL, the collector with the console on, and two agents; fills the table with
a few thousand lines of an hour of made-up traffic (and one trace across three hosts, which
the OpenTelemetry example services, examples/python and examples/go, join over OTLP);
installs playwright-core with `npm ci` into tests/console/node_modules (gitignored); then
the browser logs in, looks at the fleet, searches, opens a correlation view, watches a
line arrive in the live tail, and checks that a <script> line is shown as text. The
screenshots land in <build>/test-output/console/.

Exit 77 (skipped) when chromium or node is not installed. Without the example clients
(scripts/install-deps.sh builds them) the rest runs and a WARNING says what was not checked.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import common
import harness
import test_console
import test_otel_clients

REPO = pathlib.Path(__file__).resolve().parents[2]
E2E_DIR = REPO / "tests" / "console"
TOKEN = "browser-test-token-0123456789"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def fill(pg):
    """An hour of traffic from five hosts, and one checkout trace across three of them."""
    pg.query("""
      INSERT INTO logs (id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id)
      SELECT gen_random_uuid(), now() - (i * 1.2 || ' seconds')::interval, now(),
             (ARRAY['web-01','web-02','api-01','db-01','cache-01'])[1 + i % 5], 'bulk',
             (ARRAY['/var/log/nginx/access.log','/var/log/app/app.log','/var/log/app/worker.log'])[1 + i % 3],
             CASE WHEN i % 37 = 0 THEN 17 WHEN i % 11 = 0 THEN 13 WHEN i % 7 = 0 THEN 5 ELSE 9 END,
             CASE i % 4
               WHEN 0 THEN 'request GET /api/cart/' || i || ' status=200 duration_ms=' || (i % 90)
               WHEN 1 THEN 'request POST /api/checkout order=' || (10000 + i) || ' status=201'
               WHEN 2 THEN 'cache miss key=session:' || (i % 500)
               ELSE 'worker job ' || i || ' done in ' || (i % 300) || ' ms' END,
             jsonb_build_object('service', CASE WHEN i % 4 = 1 THEN 'checkout' ELSE 'cart' END, 'env', 'prod'),
             NULL, NULL
      FROM generate_series(1, 3000) AS i;
    """)
    pg.query(f"""
      INSERT INTO logs (id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id)
      VALUES
        (gen_random_uuid(), now() - interval '9 minutes', now(), 'web-01', 'web-01', '/var/log/nginx/access.log', 9,
         'checkout step 1: POST /api/checkout received', '{{"service":"checkout"}}', '{TRACE_ID}', NULL),
        (gen_random_uuid(), now() - interval '9 minutes' + interval '40 ms', now(), 'api-01', 'api-01',
         '/var/log/app/app.log', 13, 'checkout step 2: payment provider slow (2.1 s)', '{{"service":"checkout"}}',
         '{TRACE_ID}', NULL),
        (gen_random_uuid(), now() - interval '9 minutes' + interval '2200 ms', now(), 'db-01', 'db-01',
         '/var/log/postgresql/postgresql.log', 17, 'checkout step 3: deadlock detected, transaction retried',
         '{{"service":"checkout"}}', NULL, '{TRACE_ID}');
    """)
    return 3


def otel_services(port, pg):
    """The Python and Go example services send their events in TRACE_ID over OTLP."""
    missing = test_otel_clients.missing_clients()
    if missing:
        print("WARNING: the OpenTelemetry example clients are missing, so the correlation view is NOT "
              "checked across the Python and Go services:\n  " + "\n  ".join(missing), file=sys.stderr)
        return {"lines": 0, "sources": ""}
    py, go, _ = test_otel_clients.run_clients(f"127.0.0.1:{port}", "", f"00-{TRACE_ID}-00f067aa0ba902b7-01")
    assert py.returncode == 0 and go.returncode == 0, (test_otel_clients.explain(py), test_otel_clients.explain(go))
    lines = len(test_otel_clients.expected_events())
    harness.wait_until(lambda: int(pg.scalar(f"SELECT count(*) FROM logs WHERE trace_id = '{TRACE_ID}' AND "
                                             "source IN ('checkout-py', 'payments-go')")) >= lines, 30,
                       what="the example services' events")
    return {"lines": lines, "sources": "checkout-py,payments-go"}


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    for tool in ("/usr/bin/chromium", shutil.which("node"), shutil.which("npm")):
        if not tool or not os.access(tool, os.X_OK):
            print(f"SKIPPED: {tool or 'node/npm'} not installed")
            sys.exit(77)
    bin_dir = pathlib.Path(sys.argv[sys.argv.index("--bin-dir") + 1])
    shots = bin_dir / "test-output" / "console"
    shutil.rmtree(shots, ignore_errors=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=E2E_DIR, check=True,
                   timeout=300)
    work = harness.make_workdir("logship-console-browser")
    with harness.PostgresServer() as pg:
        collector, port, http_port = test_console.start_collector(collector_bin, pg, work, TOKEN)
        trace_lines = fill(pg)
        logs = {}
        for agent_id in ("web-01", "api-01"):
            d = work / agent_id
            (d / "logs").mkdir(parents=True)
            log = d / "logs" / "app.json.log"
            lines = [f'{{"level":"info","msg":"{agent_id} started"}}']
            if agent_id == "web-01":
                lines.append('{"level":"error","msg":"checkout step 0: <script>window.xssFired=1</script>'
                             '<img src=x onerror=\\"window.xssFired=2\\">","trace_id":"' + TRACE_ID + '"}')
                trace_lines += 1
            log.write_text("\n".join(lines) + "\n")
            acfg = common.write_agent_config(d, port, f"{d / 'logs'}/*.log", agent_id=agent_id,
                                             extra="http: {listen: \"\"}\n")
            harness.Proc([agent_bin, "--config", acfg], work, name=f"agent-{agent_id}")
            logs[agent_id] = log
        harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id IN ('web-01','api-01') "
                                                 "AND body NOT LIKE 'checkout step _:%'")) >= 2, 30,
                           what="the agents' first lines")
        services = otel_services(port, pg)
        trace_lines += services["lines"]
        env = {**os.environ, "CONSOLE_URL": f"http://127.0.0.1:{http_port}", "CONSOLE_TOKEN": TOKEN,
               "LOG_FILE": str(logs["web-01"]), "SHOT_DIR": str(shots), "TRACE_ID": TRACE_ID,
               "TRACE_LINES": str(trace_lines), "TRACE_SOURCES": services["sources"]}
        r = subprocess.run(["node", "e2e.mjs"], cwd=E2E_DIR, env=env, timeout=240)
        if r.returncode != 0:
            print(f"--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
            raise SystemExit(f"browser test failed (screenshots in {shots})")
        assert collector.alive()
        assert collector.terminate() == 0
    print(f"console browser: passed; screenshots in {shots}")


if __name__ == "__main__":
    main()
