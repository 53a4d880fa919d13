#!/usr/bin/env python3
"""Shipper behaviour between real processes:

1. failover: the first endpoint is dead; the agent moves on to the live one and ships.
2. dead letters: a collector that rejects every frame (its max_records is below the
   agent's batch size) → each frame lands in data_dir/dead-letter with its reason, is
   counted, and is not retried forever; the agent keeps running.
"""

import sys
import time

import common
import harness


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-shipper")
    passed = 0
    with harness.PostgresServer() as pg:
        # 1. failover
        logs = work / "logs"
        logs.mkdir()
        port, dead = harness.free_port(), harness.free_port()
        collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work)
        common.wait_healthy(collector_bin, port)
        cfg = common.write_agent_config(work, port, str(logs / "*.log"), extra="http: {listen: \"\"}\n")
        cfg.write_text(cfg.read_text().replace(f'endpoints: ["127.0.0.1:{port}"]',
                                               f'endpoints: ["127.0.0.1:{dead}", "127.0.0.1:{port}"]'))
        agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-failover")
        try:
            common.LineWriter(logs / "app.log").write(5000)
            common.assert_exact(pg, 5000, 60, "failover to the second endpoint")
            assert f"127.0.0.1:{dead}" in agent.log_tail(100), "the dead endpoint was never tried"
            passed += 1
            assert agent.terminate() == 0 and collector.terminate() == 0

            # 2. dead letters
            logs2 = work / "logs2"
            logs2.mkdir()
            port2, http_port = harness.free_port(), harness.free_port()
            collector = common.start_collector(
                collector_bin,
                common.write_collector_config(work, port2, pg, extra="limits: {max_records: 10}\nhttp: {listen: \"\"}\n"),
                work, name="collector-strict")
            common.wait_healthy(collector_bin, port2)
            data = work / "dl-data"
            cfg2 = common.write_agent_config(work, port2, str(logs2 / "*.log"),
                                             extra=f"http: {{listen: 127.0.0.1:{http_port}}}\n")
            cfg2.write_text(cfg2.read_text().replace(f"data_dir: {work / 'agent-data'}", f"data_dir: {data}")
                            .replace("max_records: 2000", "max_records: 100"))
            agent = harness.Proc([agent_bin, "--config", cfg2], work, name="agent-deadletter")
            common.LineWriter(logs2 / "app.log").write(1000)  # 10 batches of 100
            dl = lambda: common.scrape_metric(http_port, "logship_agent_batches_dead_lettered_total")
            harness.wait_until(lambda: dl() == 10, 60, what="10 dead-lettered batches")
            time.sleep(2)
            assert dl() == 10, "dead-lettered batches were retried"
            assert common.scrape_metric(http_port, "logship_agent_spool_frames") == 0, "rejected frames still spooled"
            letters = sorted((data / "dead-letter").glob("*.zst"))
            reasons = sorted((data / "dead-letter").glob("*.reason"))
            assert len(letters) == 10 and len(reasons) == 10, (letters, reasons)
            assert "max_records" in reasons[0].read_text(), reasons[0].read_text()
            assert agent.alive()
            passed += 1
        except BaseException:
            print("--- agent ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print(f"shipper: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
