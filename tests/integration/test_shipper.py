#!/usr/bin/env python3
"""Shipper behaviour between real processes:

1. failover: the first endpoint is dead; the agent moves on to the live one and ships.
2. limits: a collector whose max_records is below the agent's batch size announces it at
   stream start; the agent sends each batch in parts that fit, so every line arrives once
   and nothing is dead-lettered or retried forever (a record that fits no frame at all:
   test_limits.py).
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

            # 2. limits below the agent's batches
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
            pg.query("TRUNCATE logs")
            common.LineWriter(logs2 / "app.log").write(1000)  # 10 batches of 100
            common.assert_exact(pg, 1000, 60, "batches of 100 through max_records 10")
            split = common.scrape_metric(http_port, "logship_agent_batches_split_total")
            assert split and split >= 1, f"no batch was split ({split})"
            assert common.scrape_metric(http_port, "logship_agent_batches_dead_lettered_total") == 0
            assert common.scrape_metric(http_port, "logship_agent_spool_frames") == 0, "frames still spooled"
            assert not (data / "dead-letter").exists(), list((data / "dead-letter").iterdir())
            assert agent.alive()
            passed += 1
        except BaseException:
            print("--- agent ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print(f"shipper: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
