#!/usr/bin/env python3
"""The collector is away for 60 s while lines arrive at 5,000/s: the spool grows, the
agent's memory stays under a fixed bound, and everything arrives afterwards."""

import sys
import threading
import time

import common
import harness

RATE = 5_000
OUTAGE_S = 60
RSS_BOUND_MIB = 48


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-outage")
    logs = work / "logs"
    logs.mkdir()
    with harness.PostgresServer() as pg:
        port, http_port = harness.free_port(), harness.free_port()
        collector_cfg = common.write_collector_config(work, port, pg, extra="http: {listen: \"\"}\n")
        agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"),
                                              extra=f"http: {{listen: 127.0.0.1:{http_port}}}\n")
        collector = common.start_collector(collector_bin, collector_cfg, work)
        common.wait_healthy(collector_bin, port)
        agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
        writer = common.LineWriter(logs / "app.log", noise=True)  # random bytes: the spool really grows
        total = RATE * (OUTAGE_S + 10)
        t = threading.Thread(target=writer.write, args=(total, RATE))
        t.start()
        try:
            time.sleep(5)
            assert collector.terminate() == 0
            peak_spool = 0
            peak_rss = 0
            for _ in range(OUTAGE_S):
                time.sleep(1)
                peak_spool = max(peak_spool, common.scrape_metric(http_port, "logship_agent_spool_bytes") or 0)
                peak_rss = max(peak_rss, agent.rss_peak_kib() or 0)
            assert peak_spool > 1 << 20, f"the spool did not grow during the outage ({peak_spool} bytes)"
            assert peak_rss < RSS_BOUND_MIB * 1024, f"agent RSS {peak_rss} KiB over the {RSS_BOUND_MIB} MiB bound"
            collector = common.start_collector(collector_bin, collector_cfg, work, name="collector2")
            t.join()
            common.assert_exact(pg, total, 180, "after a 60 s outage")
            peak_rss = max(peak_rss, agent.rss_peak_kib() or 0)
            assert peak_rss < RSS_BOUND_MIB * 1024, f"agent RSS {peak_rss} KiB over the {RSS_BOUND_MIB} MiB bound"
            print(f"outage: {total} lines exact; spool peaked at {peak_spool / 1048576:.1f} MiB, "
                  f"agent peak RSS {peak_rss / 1024:.1f} MiB (bound {RSS_BOUND_MIB} MiB)")
        except BaseException:
            print("--- agent ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print("outage: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
