#!/usr/bin/env python3
"""/metrics and /healthz on both binaries, with the metric names the design fixes."""

import re
import sys
import urllib.request

import common
import harness


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def value(text, series):
    """The value of one exact series line, e.g. 'foo_total{a="b"}'."""
    m = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-metrics")
    logs = work / "logs"
    logs.mkdir()
    with harness.PostgresServer() as pg:
        port, chttp, ahttp = harness.free_port(), harness.free_port(), harness.free_port()
        collector = common.start_collector(
            collector_bin, common.write_collector_config(work, port, pg, extra=f"http: {{listen: 127.0.0.1:{chttp}}}\n"),
            work)
        common.wait_healthy(collector_bin, port)
        agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"),
                                              extra=f"http: {{listen: 127.0.0.1:{ahttp}}}\n")
        agent_cfg.write_text(agent_cfg.read_text().replace("  - type: file\n", "  - type: file\n    name: app\n"))
        agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
        passed = 0
        try:
            common.LineWriter(logs / "app.log").write(1000)
            common.assert_exact(pg, 1000, 60, "1000 lines")

            for p in (chttp, ahttp):
                status, _, body = scrape(p, "/healthz")
                assert status == 200 and body == "ok\n", (p, status, body)
            passed += 1

            def agent_settled():
                t = scrape(ahttp)[2]
                return t if value(t, "logship_agent_batches_acked_total") == value(t, "logship_agent_batches_sent_total") else None
            status, ctype, _ = scrape(ahttp)
            assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), ctype
            text = harness.wait_until(agent_settled, 10, what="agent acks settled")
            assert value(text, 'logship_agent_records_read_total{source="app"}') == 1000, text
            assert value(text, "logship_agent_records_spooled_total") == 1000, text
            assert value(text, "logship_agent_batches_acked_total") >= 1, text
            assert value(text, "logship_agent_batches_retried_total") == 0, text
            assert value(text, "logship_agent_spool_frames") == 0, text
            assert value(text, "logship_agent_spool_bytes") is not None, text
            assert "# TYPE logship_agent_records_read_total counter" in text
            passed += 1

            text = scrape(chttp)[2]
            assert value(text, 'logship_collector_records_received_total{agent="test-agent"}') == 1000, text
            assert value(text, 'logship_collector_sink_records_total{sink="postgres"}') == 1000, text
            assert value(text, 'logship_collector_sink_errors_total{sink="postgres"}') == 0, text
            assert value(text, 'logship_collector_end_to_end_lag_seconds_count{sink="postgres"}') == 1000, text
            assert value(text, 'logship_collector_end_to_end_lag_seconds_bucket{sink="postgres",le="+Inf"}') == 1000
            assert "# TYPE logship_collector_end_to_end_lag_seconds histogram" in text
            assert value(text, 'logship_collector_sink_write_seconds_count{sink="postgres"}') >= 1
            passed += 1

            try:
                urllib.request.urlopen(f"http://127.0.0.1:{chttp}/nope", timeout=5)
                raise AssertionError("unknown path answered")
            except urllib.error.HTTPError as e:
                assert e.code == 404
            passed += 1
        except BaseException:
            print("--- agent log ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print(f"metrics: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
