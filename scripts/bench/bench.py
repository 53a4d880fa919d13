#!/usr/bin/env python3
"""logship benchmarks. Prints a table of medians over --runs runs.

Scenarios (--only to pick; default all):
  baselines         cat, wc -l and zstd -1 on the same file (the physical floor)
  file_to_spool     agent: read + split + batch + compress + spool, no network
  file_to_blackhole agent → gRPC → collector with the blackhole sink: both processes,
                    and bytes on the wire against raw bytes
  pg_ingest         agent → collector → PostgreSQL rows/s (until SELECT count(*) has every
                    line), beside `psql \\copy` of the same rows into a table of the same
                    shape (partitioned by day, unique (id, ts), same indexes): the ceiling
  latency           end-to-end latency at a fixed --latency-rate lines/s for --latency-seconds:
                    line written → row visible to a poller querying PostgreSQL every 50 ms
  many_files_cpu    --files files, each getting one line every 10 s, for --files-seconds:
                    agent CPU (% of one core) and RSS
  opensearch        (not in the default set: --only opensearch) agent → collector → a real
                    OpenSearch node (tests/engines) docs/s for --os-lines lines, beside the
                    node's own ceiling (the same documents as _bulk bodies from parallel curl);
                    node CPU s per million documents in both (bench_opensearch.py, which also
                    runs on its own; --no-template: manage_template: false in the sink)
  kafka             (not in the default set: --only kafka) edge collector → Kafka records/s and
                    MiB/s from 4 agents' pre-filled spools beside the broker's own producer
                    ceiling (ProducerPerformance, records of the edge's message size; ratio,
                    target ≥ 0.7×); Kafka → indexer → blackhole records/s; latency at
                    --latency-rate through agent → edge → Kafka → indexer → PostgreSQL
                    (bench_kafka.py, which also runs on its own; needs binaries built with
                    Kafka: --build-dir/--bin-dir)
  fleet             (not in the default set: --only fleet) --fleet-agents simulated agents at
                    20 lines/s each (logship-fleet-sim) → collector → blackhole: lines/s, ack
                    p50/p99, collector threads, RSS and cores (bench_fleet.py runs the other
                    scenarios and the comparison with another collector binary)

PostgreSQL is a throwaway server started exactly like the integration tests do
(tests/integration/harness.py: fsync, synchronous_commit and full_page_writes off).

usage: scripts/bench/bench.py [--size-mib 1024] [--runs 3] [--build-dir build] [--smoke]
       scripts/bench/bench.py --only kafka --bin-dir /tmp/kafka-bin
--smoke: a 10 MiB file, one run, 5 s latency and 10 s many-files phases, 20,000 OpenSearch
lines (CI-friendly).
Data is cached in /tmp/logship-bench/.
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys

# The scenarios are in bench_scenarios.py and bench_latency.py, on the helpers of
# bench_processes.py (agent, collector) and bench_postgres.py.
from bench_latency import run_latency
from bench_opensearch import run_opensearch
from bench_scenarios import (run_baselines, run_file_to_blackhole, run_file_to_spool, run_many_files,
                             run_pg_ingest)

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = pathlib.Path("/tmp/logship-bench")


def data_file(size_mib):
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"mixed-{size_mib:g}MiB.log"
    count = CACHE / f"mixed-{size_mib:g}MiB.count"
    if not path.exists() or not count.exists():
        print(f"generating {size_mib:g} MiB of mixed lines …", file=sys.stderr)
        out = subprocess.run([sys.executable, HERE / "gen_data.py", path, str(size_mib)], check=True,
                             capture_output=True, text=True).stdout
        count.write_text(out.strip())
    return path, int(count.read_text())


def zstd_ratio_note(agent_cpu, zstd_cpu):
    """The agent's CPU per GiB against `zstd -1`'s on the same data in the same session."""
    ratio = statistics.median(agent_cpu) / statistics.median(zstd_cpu)
    return (f"agent → collector: {statistics.median(agent_cpu):.2f} CPU s/GiB against zstd -1's "
            f"{statistics.median(zstd_cpu):.2f}: {ratio:.2f}× (medians; agent runs "
            + ", ".join(f"{c:.2f}" for c in agent_cpu) + "; zstd runs " + ", ".join(f"{c:.2f}" for c in zstd_cpu) + ")")


def median_of(runs):
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


COLUMNS = {  # column → format
    "MiB/s": "{:,.1f}", "lines/s": "{:,.0f}", "rows/s": "{:,.0f}", "ceiling rows/s": "{:,.0f}", "ratio": "{:.2f}",
    "p50 ms": "{:,.0f}", "p99 ms": "{:,.0f}", "max ms": "{:,.0f}", "CPU s/GiB": "{:,.1f}", "agent CPU %": "{:.2f}",
    "agent RSS MiB": "{:,.1f}", "collector CPU s/GiB": "{:,.1f}", "collector RSS MiB": "{:,.1f}",
    "wire/raw": "{:.3f}", "docs/s": "{:,.0f}", "ceiling docs/s": "{:,.0f}", "node CPU s/M docs": "{:,.1f}",
    "ceiling node CPU s/M docs": "{:,.1f}", "collector CPU s/M docs": "{:,.1f}",
    "records/s": "{:,.0f}", "msg MiB/s": "{:,.1f}", "raw MiB/s": "{:,.1f}", "msgs/s": "{:,.0f}",
    "edge CPU %": "{:.0f}", "indexer CPU %": "{:.0f}", "broker CPU %": "{:.0f}", "broker CPU s/GiB": "{:,.1f}",
    "collector threads": "{:,.0f}", "collector cores": "{:.2f}",
}
SCENARIOS = "baselines,file_to_spool,file_to_blackhole,pg_ingest,latency,many_files_cpu"
OPT_IN = "opensearch,kafka,fleet"  # run only when named in --only


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=float, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-dir", "--bin-dir", dest="build_dir", default=str(REPO / "build"))
    ap.add_argument("--only", default=SCENARIOS)
    ap.add_argument("--latency-rate", type=float, default=20000)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--files-interval", type=float, default=10, help="seconds between two lines of one file")
    ap.add_argument("--files-seconds", type=float, default=30)
    ap.add_argument("--os-lines", type=int, default=500000, help="lines for the opensearch scenario")
    ap.add_argument("--no-template", action="store_true", help="opensearch: manage_template: false in the sink")
    ap.add_argument("--fleet-agents", type=int, default=3000, help="agents for the fleet scenario")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.size_mib, a.runs, a.latency_seconds, a.files_seconds, a.os_lines = 10, 1, 5, 10, 20000
    only = a.only.split(",")
    unknown = set(only) - set(SCENARIOS.split(",")) - set(OPT_IN.split(","))
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    build = pathlib.Path(a.build_dir)
    rows, notes = [], []
    if set(only) & set(SCENARIOS.split(",")):
        path, lines = data_file(a.size_mib)
        size = path.stat().st_size / (1024 * 1024)
        print(f"data: {path} — {size:.0f} MiB, {lines} lines; median of {a.runs} run(s); {os.cpu_count()} cores",
              file=sys.stderr)
    baselines = []
    if "baselines" in only:
        baselines = [run_baselines(path, size) for _ in range(a.runs)]
        for name in baselines[0]:
            rows.append((f"baseline: {name}", median_of([r[name] for r in baselines])))
    if "file_to_spool" in only:
        for fsync in ("batch", "never"):
            rows.append((f"agent file → spool (fsync: {fsync})",
                         median_of([run_file_to_spool(build, path, size, lines, fsync) for _ in range(a.runs)])))
    if "file_to_blackhole" in only:
        runs = [run_file_to_blackhole(build, path, size, lines) for _ in range(a.runs)]
        rows.append(("agent → collector (blackhole)", median_of(runs)))
        if baselines:
            notes.append(zstd_ratio_note([r["CPU s/GiB"] for r in runs],
                                         [b["zstd -1"]["CPU s/GiB"] for b in baselines]))
    if "pg_ingest" in only:
        rows.append(("agent → collector → PostgreSQL (ceiling: psql \\copy)",
                     median_of([run_pg_ingest(build, path, size, lines, notes) for _ in range(a.runs)])))
    if "latency" in only:
        rows.append((f"latency file → PostgreSQL row @ {a.latency_rate:,.0f} lines/s",
                     median_of([run_latency(build, a.latency_rate, a.latency_seconds, notes)
                                for _ in range(a.runs)])))
    if "many_files_cpu" in only:
        rows.append((f"agent, {a.files:,} files @ {a.files / a.files_interval:g} lines/s",
                     median_of([run_many_files(build, a.files, a.files_seconds, a.files_interval, notes)
                                for _ in range(a.runs)])))
    if "opensearch" in only:
        runs = run_opensearch(build.resolve(), a.os_lines, a.runs, template=not a.no_template,
                              warmup_lines=min(50000, a.os_lines // 10), notes=notes,
                              log=lambda s: print(s, file=sys.stderr, flush=True))
        rows.append((f"agent → collector → OpenSearch, {a.os_lines:,} lines (ceiling: 4 × curl _bulk)",
                     median_of(runs)))
    if "kafka" in only:
        from bench_kafka import run_kafka
        kafka_rows, _ = run_kafka(build.resolve(), a.runs, lines_per_agent=20000 if a.smoke else 500000,
                                  ceiling_mib=10 if a.smoke else 200, latency_rate=a.latency_rate,
                                  latency_seconds=min(a.latency_seconds, 10), notes=notes)
        rows += kafka_rows
    if "fleet" in only:
        from bench_fleet import fleet_row
        rows.append((f"fleet_sim: {a.fleet_agents:,} agents × 20 lines/s → collector (blackhole)",
                     median_of([fleet_row(build.resolve(), a.fleet_agents, 20 if a.smoke else 60)
                                for _ in range(a.runs)])))
    cols = [c for c in COLUMNS if any(c in r for _, r in rows)]
    print("| scenario | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, r in rows:
        print(f"| {name} | " + " | ".join("" if r.get(c) is None else COLUMNS[c].format(r[c]) for c in cols) + " |")
    for note in dict.fromkeys(notes):  # once each, in order
        print(f"- {note}")


if __name__ == "__main__":
    main()
