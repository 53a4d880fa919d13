#!/usr/bin/env python3
"""Many agents, one collector:

1. 50 concurrent agents (separate processes) → one collector → PostgreSQL: exact counts,
   per agent and in total.
2. Backpressure: 50 agents pushing as fast as they can into a slow sink (blackhole with a
   delay per batch): the collector's memory stays under a bound the test asserts, because
   it stops reading frames once limits.max_inflight_bytes are in flight.
"""

import sys
import time

import common
import harness

AGENTS = 50
LINES = 2000
# The collector's memory bound: a base, the in-flight budget, and per stream its HTTP/2
# window plus the one frame it holds while waiting for budget (1 MiB batches compress to
# about 0.6 MiB of this noisy data).
BASE_MIB, INFLIGHT_MIB, WINDOW_MIB, FRAME_MIB = 64, 8, 0.25, 0.6
RSS_BOUND_MIB = BASE_MIB + INFLIGHT_MIB + AGENTS * (WINDOW_MIB + FRAME_MIB)


def agent_cfg(work, name, port, noise=False, batch=""):
    d = work / name
    (d / "logs").mkdir(parents=True)
    cfg = common.write_agent_config(d, port, str(d / "logs" / "*.log"), agent_id=name,
                                    extra="http: {listen: \"\"}\n")
    if batch:
        cfg.write_text(cfg.read_text().replace("batch: {max_records: 2000, max_bytes: 1MiB, linger: 100ms}", batch))
    return d, cfg


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-fleet")
    passed = 0
    with harness.PostgresServer() as pg:
        # 1. exact counts from 50 agents
        port = harness.free_port()
        fleet_http = harness.free_port()
        fleet_cfg = common.write_collector_config(work, port, pg, extra=f"http: {{listen: 127.0.0.1:{fleet_http}}}\n")
        fleet_cfg.write_text(fleet_cfg.read_text().replace("    table: logs\n", "    table: logs\n    batch_linger: 20ms\n"))
        collector = common.start_collector(collector_bin, fleet_cfg, work)
        common.wait_healthy(collector_bin, port)
        agents = []
        for i in range(AGENTS):
            d, cfg = agent_cfg(work, f"fleet{i:02d}", port)
            common.LineWriter(d / "logs" / "app.log").write(LINES)
            agents.append(harness.Proc([agent_bin, "--config", cfg], work, name=f"fleet{i:02d}"))
        try:
            harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs")) >= AGENTS * LINES, 180,
                               interval=0.5, what=f"{AGENTS * LINES} rows")
            time.sleep(1)
            per_agent = pg.query("SELECT agent_id, count(*), count(DISTINCT body) FROM logs GROUP BY agent_id")
            assert len(per_agent) == AGENTS, f"{len(per_agent)} agents stored rows"
            for agent_id, total, distinct in per_agent:
                assert int(total) == int(distinct) == LINES, (agent_id, total, distinct)
            txns = common.scrape_metric(fleet_http, 'logship_collector_sink_transactions_total{sink="postgres"}')
            batches = common.scrape_metric(fleet_http, 'logship_collector_sink_write_seconds_count{sink="postgres"}')
            print(f"fleet: {AGENTS} agents × {LINES} lines = {AGENTS * LINES} rows, exact per agent; "
                  f"{batches:.0f} batches in {txns:.0f} transactions")
            passed += 1
        finally:
            for a in agents:
                a.terminate()
            collector.terminate()

        # 2. backpressure into a slow sink
        port, http_port = harness.free_port(), harness.free_port()
        slow = work / "slow.yaml"
        slow.write_text(f"listen: 127.0.0.1:{port}\n"
                        "limits: {max_inflight_bytes: 8MiB, stream_window_bytes: 256KiB}\n"
                        "sinks: {blackhole: {delay: 100ms}}\n"
                        f"http: {{listen: 127.0.0.1:{http_port}}}\n")
        collector = common.start_collector(collector_bin, slow, work, name="collector-slow")
        common.wait_healthy(collector_bin, port)
        agents = []
        for i in range(AGENTS):
            d, cfg = agent_cfg(work, f"push{i:02d}", port)
            common.LineWriter(d / "logs" / "app.log", noise=True).write(40_000)  # ~7 MiB each, compresses poorly
            agents.append(harness.Proc([agent_bin, "--config", cfg], work, name=f"push{i:02d}"))
        try:
            peak_rss = peak_inflight = 0
            for _ in range(20):
                time.sleep(1)
                peak_rss = max(peak_rss, collector.rss_peak_kib() or 0)
                peak_inflight = max(peak_inflight, common.scrape_metric(http_port, "logship_collector_inflight_bytes") or 0)
            done = common.scrape_metric(http_port, 'logship_collector_sink_records_total{sink="blackhole"}')
            assert done and done > 0, "the slow sink got nothing"
            assert peak_inflight <= INFLIGHT_MIB * 1048576 + 4 * 1048576, f"in-flight bytes {peak_inflight}"
            assert peak_rss < RSS_BOUND_MIB * 1024, f"collector RSS {peak_rss / 1024:.0f} MiB over {RSS_BOUND_MIB} MiB"
            print(f"backpressure: {AGENTS} agents into a 100 ms/batch sink for 20 s: collector peak RSS "
                  f"{peak_rss / 1024:.0f} MiB (bound {RSS_BOUND_MIB:.0f}), in flight ≤ {peak_inflight / 1048576:.1f} MiB, "
                  f"{done:.0f} records through")
            passed += 1
        except BaseException:
            print("--- collector ---\n" + collector.log_tail(20), file=sys.stderr)
            raise
        finally:
            for a in agents:
                a.kill9()
            collector.terminate()
    print(f"fleet: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
