#!/usr/bin/env python3
"""The fleet simulator against a real collector (issue 22's smoke run; the figures come from
scripts/bench/bench_fleet.py):

1. 200 simulated agents (each its own connection, stream and window, fleet token) send
   20 lines/s each for 30 s into PostgreSQL. Meanwhile the collector is stopped with SIGTERM
   and started again (all 200 streams reconnect at once), then killed with SIGKILL and
   started again. Every line the simulator made is acked, and PostgreSQL holds each exactly
   once. After the simulator exits, the collector holds no stream.
2. Half-open streams are reaped: with limits.keepalive_time/keepalive_timeout of 1 s, 20
   agents whose process is frozen (SIGSTOP: the kernel still holds the sockets, nothing
   answers a ping) lose their streams within seconds; before, they were held until the
   kernel gave up (hours).
"""

import json
import pathlib
import signal
import subprocess
import sys
import time

import common
import harness

AGENTS = 200
RATE = 20
SECONDS = 30


def sim_binary(bin_dir: pathlib.Path) -> pathlib.Path:
    return bin_dir / "scripts" / "bench" / "fleet_sim" / "logship-fleet-sim"


def bin_dir_from_argv() -> pathlib.Path:
    return pathlib.Path(sys.argv[sys.argv.index("--bin-dir") + 1])


def collector_config(work, port, http, pg=None, extra=""):
    token = work / "fleet.token"
    token.write_text("fleet-sim-token-0123456789abcdef\n")
    sink = (f"sinks:\n  postgres:\n    dsn: \"{pg.dsn}\"\n    table: logs\n    batch_linger: 20ms\n"
            if pg else "sinks: {blackhole: {}}\n")
    cfg = work / "collector.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\n"
                   f"data_dir: {work / 'collector-data'}\n"
                   f"auth: {{tokens: [{{agent: \"*\", token_file: {token}}}]}}\n"
                   f"http: {{listen: 127.0.0.1:{http}}}\n" + sink + extra)
    return cfg, token


def streams(http) -> float:
    value = common.scrape_metric(http, "logship_collector_ingest_streams")
    return -1 if value is None else float(value)


def scenario_storms(collector_bin, sim, work, pg):
    port, http = harness.free_port(), harness.free_port()
    cfg, token = collector_config(work, port, http, pg)
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    out = work / "sim.json"
    with open(out, "w") as f:
        proc = subprocess.Popen([str(sim), "--target", f"127.0.0.1:{port}", "--agents", str(AGENTS),
                                 "--rate", str(RATE), "--seconds", str(SECONDS), "--warmup", "3",
                                 "--drain", "90", "--token-file", str(token)],
                                stdout=f, stderr=subprocess.STDOUT)
    harness.wait_until(lambda: streams(http) == AGENTS, 30, what=f"{AGENTS} streams open")
    time.sleep(8)
    # A graceful restart: every stream ends, all reconnect at once to the new process.
    assert collector.terminate(20) == 0, collector.log_tail()
    collector = common.start_collector(collector_bin, cfg, work, name="collector2")
    harness.wait_until(lambda: streams(http) == AGENTS, 30, what="all streams back after SIGTERM")
    time.sleep(6)
    # A crash: acks in flight are lost; the agents send those frames again.
    collector.kill9()
    collector = common.start_collector(collector_bin, cfg, work, name="collector3")
    harness.wait_until(lambda: streams(http) == AGENTS, 30, what="all streams back after SIGKILL")
    rc = proc.wait(SECONDS + 120)
    report = json.loads(out.read_text().strip().splitlines()[-1])
    print(json.dumps(report))
    assert rc == 0, f"simulator exit {rc}: {report}"
    assert report["lines_acked"] == report["lines_made"] > AGENTS * RATE * (SECONDS - 5), report
    assert report["agents_not_recovered"] == 0, report
    assert report["max_streams"] == AGENTS, report
    rows, distinct = pg.query("SELECT count(*), count(DISTINCT id) FROM logs")[0]
    assert int(rows) == int(distinct) == report["lines_made"], (rows, distinct, report["lines_made"])
    per_agent = pg.query("SELECT count(DISTINCT agent_id) FROM logs")[0][0]
    assert int(per_agent) == AGENTS, per_agent
    harness.wait_until(lambda: streams(http) == 0, 15, what="no stream left after the simulator exited")
    collector.terminate()
    print(f"storms: {report['lines_made']} lines from {AGENTS} agents across a SIGTERM and a SIGKILL restart, "
          f"each stored once; longest recovery {report['longest_recovery_s']} s")


def scenario_half_open(collector_bin, sim, work):
    port, http = harness.free_port(), harness.free_port()
    cfg, token = collector_config(work, port, http,
                                  extra="limits: {keepalive_time: 1s, keepalive_timeout: 1s}\n")
    collector = common.start_collector(collector_bin, cfg, work, name="collector-ka")
    common.wait_healthy(collector_bin, port)
    proc = subprocess.Popen([str(sim), "--target", f"127.0.0.1:{port}", "--agents", "20", "--rate", "5",
                             "--seconds", "120", "--token-file", str(token)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        harness.wait_until(lambda: streams(http) == 20, 30, what="20 streams open")
        proc.send_signal(signal.SIGSTOP)
        start = time.monotonic()
        harness.wait_until(lambda: streams(http) == 0, 30, interval=0.25, what="frozen peers' streams reaped")
        print(f"half-open: 20 frozen peers' streams reaped in {time.monotonic() - start:.1f} s")
    finally:
        proc.kill()
        proc.wait()
    collector.terminate()


def main():
    _, collector_bin = harness.binaries_from_argv()
    sim = sim_binary(bin_dir_from_argv())
    work = harness.make_workdir("logship-fleet-sim")
    with harness.PostgresServer() as pg:
        scenario_storms(collector_bin, sim, work, pg)
    scenario_half_open(collector_bin, sim, work)
    print("fleet_sim: 2 scenarios passed")


if __name__ == "__main__":
    main()
