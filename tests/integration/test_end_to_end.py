#!/usr/bin/env python3
"""file → agent → spool → gRPC → collector → PostgreSQL, exact through crashes and outages.

1. 100,000 numbered lines written while both run → exactly 100,000 rows.
2. kill -9 the agent mid-stream, restart it, 100,000 more → exactly 200,000, none twice.
3. collector stopped for 10 s while lines keep coming, then started → still exact.
"""

import sys
import threading
import time

import common
import harness


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-e2e")
    logs = work / "logs"
    logs.mkdir()
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector_cfg = common.write_collector_config(work, port, pg)
        agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"))
        collector = common.start_collector(collector_bin, collector_cfg, work)
        common.wait_healthy(collector_bin, port)
        agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
        writer = common.LineWriter(logs / "app.log")
        peak_rss = 0
        try:
            # 1. steady state
            t0 = time.monotonic()
            writer.write(100_000)
            common.assert_exact(pg, 100_000, 120, "phase 1")
            elapsed = time.monotonic() - t0 - 1.0  # assert_exact waits 1 s for stragglers
            peak_rss = max(peak_rss, agent.rss_peak_kib() or 0)
            print(f"phase 1: 100000 lines in {elapsed:.2f}s = {100_000 / elapsed:,.0f} lines/s end to end")

            # 2. agent killed mid-stream
            t = threading.Thread(target=writer.write, args=(100_000, 40_000))
            t.start()
            time.sleep(1.0)
            agent.kill9()
            print(f"phase 2: agent killed with {pg.scalar('SELECT count(*) FROM logs')} rows stored")
            time.sleep(0.5)
            agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent2")
            t.join()
            common.assert_exact(pg, 200_000, 120, "phase 2 (agent kill -9)")
            peak_rss = max(peak_rss, agent.rss_peak_kib() or 0)
            print("phase 2: exact after kill -9 and restart")

            # 3. collector away for 10 s while lines keep coming
            t = threading.Thread(target=writer.write, args=(100_000, 5_000))
            t.start()
            time.sleep(2.0)
            assert collector.terminate() == 0, "collector did not exit cleanly on SIGTERM"
            stopped_at = pg.scalar("SELECT count(*) FROM logs")
            time.sleep(10.0)
            assert agent.alive(), "agent died while the collector was away:\n" + agent.log_tail()
            collector = common.start_collector(collector_bin, collector_cfg, work, name="collector2")
            t.join()
            common.assert_exact(pg, 300_000, 120, "phase 3 (collector away 10 s)")
            peak_rss = max(peak_rss, agent.rss_peak_kib() or 0)
            print(f"phase 3: exact after a 10 s collector outage (stopped at {stopped_at} rows)")

            assert agent.terminate() == 0, "agent did not exit cleanly on SIGTERM"
            print(f"agent peak RSS: {peak_rss / 1024:.1f} MiB")
        except BaseException:
            print("--- agent log ---\n" + agent.log_tail(40), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(40), file=sys.stderr)
            raise
    print("end-to-end: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
