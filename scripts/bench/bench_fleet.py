#!/usr/bin/env python3
"""One collector, many agents (issue 22): logship-fleet-sim (scripts/bench/fleet_sim) plays N
agents, each with its own connection, stream, window and fleet-token identity, against a
collector on the same machine, and reports streams held, lines/s, ack latency, the per-agent
throughput spread and the collector's threads, descriptors, RSS and CPU.

Each scenario runs against every collector given, in the same run: --bin-dir's (the event-
driven server) and, with --baseline-collector, another binary (e.g. the thread-per-stream
server built from an earlier commit) for a same-run comparison.

Scenarios (--scenarios):
  steady   N agents × --rate lines/s for --seconds (after --warmup), blackhole sink; the
           targets: RSS ≤ 1 GiB, threads ≤ 64, ack p99 ≤ 500 ms, per-agent min ≥ 0.5× median,
           and the offered rate delivered
  storm    steady, and at --seconds/3 the collector is stopped (SIGTERM) and started again:
           every agent reconnects at once; time until all N streams serve again (the longest
           loss → next OK ack of any agent), and whether any agent was refused for good
  skewed   1% of the agents send 100× more: the quiet agents' spread
  pg       steady into PostgreSQL (the integration tests' throwaway server): the aggregate
           rows/s beside a `psql \\copy` of the same rows (the ceiling) in the same run

usage: scripts/bench/bench_fleet.py --bin-dir build [--baseline-collector /tmp/old/logship-collector]
       [--agents 1000,5000] [--rate 20] [--seconds 60] [--warmup 10] [--scenarios steady,storm,skewed,pg]
"""

import argparse
import json
import pathlib
import subprocess
import sys
import time

from bench_postgres import copy_ceiling, count_rows, postgres, postgres_sink_yaml
from bench_processes import Process, free_port, metric, wait_serving, workspace

TOKEN = "fleet-bench-token-0123456789abcdef"


EXTRA = ""  # --collector-extra: more collector.yaml


def start_collector(exe, work, sinks, port=None, name="collector"):
    port = port or free_port()
    http = free_port()
    (work / "token").write_text(TOKEN + "\n")
    cfg = work / f"{name}.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\ndata_dir: {work / 'data'}\n"
                   f"auth: {{tokens: [{{agent: \"*\", token_file: {work / 'token'}}}]}}\n"
                   f"sinks: {sinks}\nhttp: {{listen: 127.0.0.1:{http}}}\n" + EXTRA)
    proc = Process([exe, "--config", cfg], work / f"{name}.log")
    wait_serving(exe, port, proc)
    return proc, port, http


def run_sim(sim, port, pid, a, agents, mode="steady", extra=()):
    cmd = [str(sim), "--target", f"127.0.0.1:{port}", "--agents", str(agents), "--rate", str(a.rate),
           "--seconds", str(a.seconds), "--warmup", str(a.warmup), "--drain", "120", "--mode", mode,
           "--interval", str(a.interval), "--collector-pid", str(pid), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def sim_result(proc):
    out, _ = proc.communicate(timeout=3600)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    if not lines:
        raise RuntimeError(f"fleet_sim printed no report (exit {proc.returncode})")
    r = json.loads(lines[-1])
    r["sim_exit"] = proc.returncode
    return r


def targets(r, agents, rate):
    return {
        "rss<=1GiB": r["collector_rss_mib_peak"] <= 1024,
        "threads<=64": r["collector_threads_peak"] <= 64,
        "p99<=500ms": r["ack_ms_p99"] <= 500,
        "min>=0.5xmedian": r["agent_lps_min"] >= 0.5 * r["agent_lps_median"],
        "rate>=0.95xoffered": r["lines_per_s"] >= 0.95 * agents * rate,
        "all acked": r["lines_acked"] == r["lines_made"],
    }


def steady(exe, sim, a, agents, mode="steady"):
    with workspace() as (work, procs):
        collector, port, _ = start_collector(exe, work, "{blackhole: {}}")
        procs.append(collector)
        r = sim_result(run_sim(sim, port, collector.p.pid, a, agents, mode, ("--token-file", str(work / "token"))))
        if mode == "steady":
            r["targets"] = targets(r, agents, a.rate)
        collector.stop()
        return r


def storm(exe, sim, a, agents):
    with workspace() as (work, procs):
        collector, port, http = start_collector(exe, work, "{blackhole: {}}")
        procs.append(collector)
        p = run_sim(sim, port, collector.p.pid, a, agents, extra=("--token-file", str(work / "token")))
        time.sleep(a.seconds / 3)
        collector.stop()
        restarted = time.monotonic()
        collector, _, http = start_collector(exe, work, "{blackhole: {}}", port=port, name="collector2")
        procs.append(collector)
        back = None
        while back is None and time.monotonic() - restarted < 120:
            if metric(http, "logship_collector_ingest_streams") == agents:
                back = time.monotonic() - restarted
            time.sleep(0.2)
        r = sim_result(p)
        for k in ("collector_cpu_cores", "collector_hwm_mib"):  # sampled from the first process only
            r.pop(k, None)
        r["streams_back_s"] = back  # None: the gauge never showed all (or the binary has none)
        collector.stop()
        return r


def pg_run(exe, sim, a, agents):
    with postgres() as pg, workspace() as (work, procs):
        collector, port, _ = start_collector(exe, work, postgres_sink_yaml(pg))
        procs.append(collector)
        r = sim_result(run_sim(sim, port, collector.p.pid, a, agents, extra=("--token-file", str(work / "token"))))
        collector.stop()
        rows = count_rows(pg)
        r["pg_rows"] = rows
        r["ceiling_rows_per_s"], _ = copy_ceiling(pg, work, rows)
        r["ratio_to_copy"] = r["lines_per_s"] / r["ceiling_rows_per_s"]
        return r


def fleet_row(bin_dir, agents, seconds):
    """One steady run for bench.py's table."""
    args = argparse.Namespace(rate=20, seconds=seconds, warmup=min(15, seconds / 4), interval=1.0)
    r = steady(bin_dir / "collector/logship-collector", bin_dir / "scripts/bench/fleet_sim/logship-fleet-sim",
               args, agents)
    return {"lines/s": r["lines_per_s"], "p50 ms": r["ack_ms_p50"], "p99 ms": r["ack_ms_p99"],
            "collector threads": r["collector_threads_peak"], "collector RSS MiB": r["collector_rss_mib_peak"],
            "collector cores": r["collector_cpu_cores"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default="build")
    ap.add_argument("--baseline-collector", help="a second collector binary to compare in the same run")
    ap.add_argument("--agents", default="1000,5000")
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--interval", type=float, default=1.0,
                    help="each agent sends one batch per interval (an agent's batch.linger)")
    ap.add_argument("--scenarios", default="steady,storm,skewed,pg")
    ap.add_argument("--collector-extra", default="", help="appended to each collector.yaml (e.g. 'ingest_workers: 16')")
    a = ap.parse_args()
    global EXTRA
    EXTRA = a.collector_extra.replace("\\n", "\n") + ("\n" if a.collector_extra else "")
    bin_dir = pathlib.Path(a.bin_dir).resolve()
    sim = bin_dir / "scripts/bench/fleet_sim/logship-fleet-sim"
    collectors = {"reactor": bin_dir / "collector/logship-collector"}
    if a.baseline_collector:
        collectors["baseline"] = pathlib.Path(a.baseline_collector).resolve()
    counts = [int(x) for x in a.agents.split(",")]
    scenarios = a.scenarios.split(",")
    for agents in counts:
        for label, exe in collectors.items():
            for sc in scenarios:
                try:
                    if sc in ("steady", "skewed"):
                        r = steady(exe, sim, a, agents, sc)
                    elif sc == "storm":
                        r = storm(exe, sim, a, agents)
                    elif sc == "pg":
                        r = pg_run(exe, sim, a, agents)
                    else:
                        sys.exit(f"unknown scenario {sc}")
                except Exception as e:  # a baseline that cannot hold N streams is a result too
                    r = {"error": str(e)[:500]}
                print(json.dumps({"collector": label, "scenario": sc, "agents": agents, **r}), flush=True)


if __name__ == "__main__":
    main()
