#!/usr/bin/env python3
"""Chaos: 1,000,000 numbered lines; while they ship, kill -9 the agent 5 times and the
collector 5 times at random moments (seeded; the seed is printed, LOGSHIP_CHAOS_SEED
replays it), restarting each → PostgreSQL holds exactly 1,000,000 rows, each number once.
"""

import os
import random
import sys
import threading
import time

import common
import harness

LINES = 1_000_000


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    seed = int(os.environ.get("LOGSHIP_CHAOS_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print(f"chaos seed: {seed}")
    work = harness.make_workdir("logship-chaos")
    logs = work / "logs"
    logs.mkdir()
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector_cfg = common.write_collector_config(work, port, pg, extra="http: {listen: \"\"}\n")
        agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"), extra="http: {listen: \"\"}\n")
        procs = {"collector": common.start_collector(collector_bin, collector_cfg, work, name="collector-0")}
        common.wait_healthy(collector_bin, port)
        procs["agent"] = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent-0")
        writer = common.LineWriter(logs / "app.log")
        t = threading.Thread(target=writer.write, args=(LINES, 40_000))
        t0 = time.monotonic()
        t.start()
        kills = ["agent"] * 5 + ["collector"] * 5
        rng.shuffle(kills)
        try:
            for i, who in enumerate(kills, 1):
                time.sleep(rng.uniform(0.5, 2.5))
                procs[who].kill9()
                stored = pg.scalar("SELECT count(*) FROM logs")
                time.sleep(rng.uniform(0.1, 1.0))
                if who == "agent":
                    procs[who] = harness.Proc([agent_bin, "--config", agent_cfg], work, name=f"agent-{i}")
                else:
                    procs[who] = common.start_collector(collector_bin, collector_cfg, work, name=f"collector-{i}")
                print(f"kill {i:2d}: {who:9s} at {time.monotonic() - t0:5.1f}s, {stored} rows stored")
            t.join()
            common.assert_exact(pg, LINES, 300, "chaos")
            elapsed = time.monotonic() - t0
            print(f"chaos: {LINES} lines, 10 kill -9s, exact in {elapsed:.1f}s")
        except BaseException:
            for name, p in procs.items():
                print(f"--- {name} ---\n{p.log_tail(30)}", file=sys.stderr)
            raise
    print("chaos: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
