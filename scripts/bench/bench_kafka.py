#!/usr/bin/env python3
"""logship through Kafka (issue 21): the edge collector's `kafka` sink and the indexer's
`inputs.kafka`, beside the broker's own producer ceiling, all on one broker in the same run.

One Kafka 4 broker (tests/engines KafkaBroker, 6 partitions per topic); a topic per phase.

  prefill   once: --agents agents (ids alpha, bravo, …: distinct keys on distinct partitions)
            each read the same --lines-per-agent mixed lines (gen_data.py) into their spool
            with no collector up (start_at: beginning, fsync never); then they are stopped.
            Each run copies these data dirs, so the agents only read spool frames and send.
  warm-up   once: ProducerPerformance writes 300 MiB to bench.ceiling.warmup, not counted (a
            fresh broker's JVM is still compiling its produce path: run 1 met it cold)
  per run   edge      the agents start on their copied spools → edge collector (sinks.kafka
                      only, defaults) → topic bench.edge.N; timed until the edge's kafka sink
                      committed every line. Message bytes = the values in the broker's segments.
            ceiling   org.apache.kafka.tools.ProducerPerformance into bench.ceiling.N: records
                      of the edge's average message size, --ceiling-mib MiB, the edge's
                      producer settings (acks=all, idempotence, no compression), batch.size
                      1 MiB; its own MiB/s (JVM start-up not in it).
            drain     an indexer (inputs.kafka, a new group, sinks: {blackhole: {}}) drains the
                      filled topic; timed from the first record the blackhole counts.
  latency   --latency-runs × --latency-seconds at --latency-rate lines/s: bench_latency.py's
            paced writer → one agent → edge → bench.lat.N → indexer → PostgreSQL (its poller,
            every 50 ms) or the blackhole (its record counter every 10 ms; one agent = one
            partition, so records arrive in order)

Edge against ceiling: message MiB/s per run, median of the ratios; target ≥ 0.70×.

Usage: scripts/bench/bench_kafka.py [--bin-dir DIR] [--runs 3] [--agents 4] [--lines-per-agent 500000]
       [--ceiling-mib 200] [--latency-rate 20000] [--latency-seconds 10] [--latency-sink postgres|blackhole|both]
       [--edge-extra "limits: {stream_writes_in_flight: 1}"] [--edge-properties "{linger.ms: '5'}"]
       [--edge-sink-options "message_version: 1"]
       [--smoke]   (--bin-dir: agent/ and collector/ binaries; data cached in /tmp/logship-bench/)
"""

import argparse
import contextlib
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/engines"))
import engines  # noqa: E402  (puts tests/integration on sys.path)
from kafka_pipeline import AGENT_IDS, kafka_messages  # noqa: E402

from bench_latency import POLLER_SETTINGS, PacedWriter, poll_latencies  # noqa: E402
from bench_opensearch import data_file_lines  # noqa: E402
from bench_postgres import PsqlSession, count_rows, postgres, postgres_sink_yaml  # noqa: E402
from bench_processes import TICK, Process, binary, free_port, metric, tail  # noqa: E402

from bench_kafka_report import TARGET, kafka_rows, print_table  # noqa: E402,F401
import bench_kafka_config  # noqa: E402
from bench_kafka_config import edge_body, indexer_body  # noqa: E402
PARTITIONS = 6
KAFKA_SINK = 'logship_collector_sink_records_total{sink="kafka"}'
BLACKHOLE = 'logship_collector_sink_records_total{sink="blackhole"}'
# Ids beyond kafka_pipeline's four (which land on four different partitions of six).
EXTRA_IDS = "echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split()


def log(s):
    print(s, file=sys.stderr, flush=True)


def pgroup_cpu_seconds(pid):
    """utime+stime of every process in process group `pid` (the broker's JVM)."""
    total = 0
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


# -- processes -----------------------------------------------------------------------------
def start_collector(bindir, work, procs, name, body, timeout=60):
    """A collector with `body` (sinks, inputs.kafka); waits until SERVING (the edge: only once
    its sink reaches the topic). The Process gets .port and .http."""
    port, http = free_port(), free_port()
    cfg = work / f"{name}.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\nhttp: {{listen: 127.0.0.1:{http}}}\n"
                   f"data_dir: {work / (name + '-data')}\n" + body)
    exe = binary(bindir, "collector/logship-collector")
    p = Process([exe, "--config", cfg], work / f"{name}.log")
    procs.append(p)
    p.port, p.http = port, http
    deadline = time.monotonic() + timeout
    while subprocess.run([exe, "healthcheck", "--address", f"127.0.0.1:{port}", "--timeout-ms", "500"],
                         capture_output=True).returncode:
        p.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} not SERVING after {timeout} s; log tail:\n{tail(p.log)}")
        time.sleep(0.1)
    return p


def agent_yaml(cfg, agent_id, data_dir, include, port, http):
    cfg.write_text(
        f"agent_id: {agent_id}\n"
        f"data_dir: {data_dir}\n"
        "sources:\n"
        "  - type: file\n"
        f"    include: [\"{include}\"]\n"
        "    start_at: beginning\n"
        "spool: {max_bytes: 64GiB, fsync: never}\n"
        "compression: {level: 1}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        "  max_in_flight: 16\n"
        "  backoff_min: 50ms\n"
        "  backoff_max: 500ms\n"
        f"http: {{listen: 127.0.0.1:{http}}}\n")
    return cfg


def wait_for(what, cond, timeout, procs, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        for p in procs:
            p.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}; logs:\n" +
                               "\n".join(f"--- {p.name} ({p.log}) ---\n{tail(p.log, 8)}" for p in procs))
        time.sleep(interval)


class Alive:
    """check_alive() over several processes (bench_latency's poller takes one)."""

    def __init__(self, *procs):
        self.procs = procs

    def check_alive(self):
        for p in self.procs:
            p.check_alive()


# -- phases --------------------------------------------------------------------------------
def prefill(bindir, root, ids, data):
    """Each agent spools `data` with nobody listening; returns {id: data dir}."""
    procs, dirs, https = [], {}, {}
    dead = free_port()
    lines = sum(1 for _ in open(data, "rb"))
    try:
        for i in ids:
            dirs[i] = root / f"spool-{i}"
            https[i] = free_port()
            cfg = agent_yaml(root / f"prefill-{i}.yaml", i, dirs[i], data, dead, https[i])
            procs.append(Process([binary(bindir, "agent/logship-agent"), "--config", cfg], root / f"prefill-{i}.log"))
        wait_for("the agents' spools", lambda: all((metric(https[i], "logship_agent_records_spooled_total") or 0)
                                                    >= lines for i in ids), 600, procs, interval=0.2)
    finally:
        for p in procs:
            p.stop()
    return dirs, lines


def run_edge(bindir, broker, root, spools, lines_per_agent, raw_bytes, run):
    topic = f"bench.edge.{run}"
    broker.create_topic(topic, partitions=PARTITIONS)
    work = root / f"edge-{run}"
    work.mkdir()
    procs = []
    try:
        edge = start_collector(bindir, work, procs, "edge", edge_body(broker, topic))
        agents = []
        for i, src in spools.items():
            shutil.copytree(src, work / f"agent-{i}")
        total = lines_per_agent * len(spools)
        bcpu0 = pgroup_cpu_seconds(broker.proc.pid)
        ecpu0 = edge.cpu_seconds()
        t0 = time.monotonic()
        for i in spools:
            cfg = agent_yaml(work / f"agent-{i}.yaml", i, work / f"agent-{i}", "/nonexistent/bench-kafka-*.log",
                             edge.port, free_port())
            agents.append(Process([binary(bindir, "agent/logship-agent"), "--config", cfg], work / f"agent-{i}.log"))
            procs.append(agents[-1])
        wait_for(f"{total} records through the edge", lambda: (metric(edge.http, KAFKA_SINK) or 0) >= total,
                 600, procs)
        wall = time.monotonic() - t0
        edge_cpu = edge.cpu_seconds() - ecpu0
        broker_cpu = pgroup_cpu_seconds(broker.proc.pid) - bcpu0
        agent_cpu = sum(a.cpu_seconds() for a in agents)
        time.sleep(0.5)
        done = metric(edge.http, KAFKA_SINK)
        if done != total:
            raise RuntimeError(f"the edge's kafka sink committed {done} records, expected exactly {total}")
        split = metric(edge.http, 'logship_collector_kafka_split_batches_total{sink="kafka"}') or 0
        errors = metric(edge.http, 'logship_collector_kafka_delivery_errors_total{sink="kafka"}') or 0
        edge_rss = edge.peak_rss_mib()
        # Time inside the kafka sink's Write() (encode, produce, wait for every delivery report):
        # each agent stream has up to limits.stream_writes_in_flight batches inside it at once.
        write_sum = metric(edge.http, 'logship_collector_sink_write_seconds_sum{sink="kafka"}') or 0
        write_count = metric(edge.http, 'logship_collector_sink_write_seconds_count{sink="kafka"}') or 0
    finally:
        for p in reversed(procs):
            p.stop()
    msgs = kafka_messages(broker, topic)
    msg_bytes = sum(len(m["value"]) for m in msgs)
    return {"records/s": total / wall, "msg MiB/s": msg_bytes / wall / 2**20, "raw MiB/s": raw_bytes / wall / 2**20,
            "edge CPU %": 100 * edge_cpu / wall, "broker CPU %": 100 * broker_cpu / wall,
            "agents CPU %": 100 * agent_cpu / wall, "broker CPU s/GiB": broker_cpu / (msg_bytes / 2**30),
            "_wall": wall, "_messages": len(msgs), "_msg_bytes": msg_bytes, "_records": total,
            "_split": split, "_errors": errors, "_edge_rss": edge_rss, "_topic": topic,
            "_write_ms": 1000 * write_sum / max(write_count, 1), "_writer_busy": write_sum / (wall * len(spools)),
            "_edge_cpu_ms_per_batch": 1000 * edge_cpu / max(write_count, 1)}


PERF_LINE = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                       r"([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th)?", re.M)


def run_ceiling(broker, record_size, num_records, run):
    topic = f"bench.ceiling.{run}"
    broker.create_topic(topic, partitions=PARTITIONS)
    props = {"acks": "all", "enable.idempotence": "true", "linger.ms": 0, "compression.type": "none",
             "batch.size": 1 << 20, "max.request.size": 4 << 20, "buffer.memory": 64 << 20}
    bcpu0 = pgroup_cpu_seconds(broker.proc.pid)
    c0 = os.times()
    t0 = time.monotonic()
    out = broker.producer_perf(topic, num_records, record_size=record_size, props=props)
    wall = time.monotonic() - t0
    c1 = os.times()
    broker_cpu = pgroup_cpu_seconds(broker.proc.pid) - bcpu0
    m = PERF_LINE.findall(out)
    if not m:
        raise RuntimeError(f"ProducerPerformance printed no summary:\n{out[-2000:]}")
    sent, rps, mibps, avg_ms, max_ms, p50, p95, p99 = m[-1]
    if int(sent) != num_records:
        raise RuntimeError(f"ProducerPerformance sent {sent} of {num_records}")
    # Its MB/sec is bytes / 2^20 per second (ProducerPerformance divides by 1024 * 1024).
    mib = float(mibps)
    return {"ceiling msg MiB/s": mib, "ceiling msgs/s": float(rps),
            "ceiling broker CPU s/GiB": broker_cpu / (num_records * record_size / 2**30),
            "_ceiling_avg_ms": float(avg_ms), "_ceiling_p99_ms": float(p99 or 0), "_ceiling_jvm_wall": wall,
            "_ceiling_client_cpu": (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)}


def run_drain(bindir, broker, root, topic, total, run):
    work = root / f"drain-{run}"
    work.mkdir()
    procs = []
    try:
        t_start = time.monotonic()
        ix = start_collector(bindir, work, procs, "indexer", indexer_body(broker, topic, f"bench-drain-{run}"))
        c0 = wait_for("the indexer's first record", lambda: metric(ix.http, BLACKHOLE), 120, procs, interval=0.005)
        t0 = time.monotonic()
        cpu0 = ix.cpu_seconds()
        bcpu0 = pgroup_cpu_seconds(broker.proc.pid)
        wait_for(f"{total} records in the blackhole", lambda: (metric(ix.http, BLACKHOLE) or 0) >= total, 600, procs)
        wall = time.monotonic() - t0
        cpu = ix.cpu_seconds() - cpu0
        bcpu = pgroup_cpu_seconds(broker.proc.pid) - bcpu0
        time.sleep(0.5)
        done = metric(ix.http, BLACKHOLE)
        if done != total:
            raise RuntimeError(f"the indexer's blackhole counted {done} records, expected exactly {total}")
        return {"drain records/s": (total - c0) / wall, "indexer CPU %": 100 * cpu / wall,
                "drain broker CPU %": 100 * bcpu / wall, "_join_s": t0 - t_start, "_drain_rss": ix.peak_rss_mib()}
    finally:
        for p in reversed(procs):
            p.stop()


def run_latency(bindir, broker, root, rate, seconds, run, sink):
    """Lines paced at `rate` → agent → edge → Kafka → indexer → PostgreSQL or blackhole."""
    topic = f"bench.lat.{sink}.{run}"
    broker.create_topic(topic, partitions=PARTITIONS)
    work = root / f"lat-{sink}-{run}"
    work.mkdir()
    procs = []
    with (postgres() if sink == "postgres" else contextlib.nullcontext()) as pg:
        try:
            edge = start_collector(bindir, work, procs, "edge", edge_body(broker, topic))
            sink_yaml = ("{blackhole: {}}" if pg is None else
                         postgres_sink_yaml(pg))
            ix = start_collector(bindir, work, procs, "indexer",
                                 indexer_body(broker, topic, f"bench-lat-{sink}-{run}", sink_yaml))
            logf = work / "latency.log"
            logf.write_text("warmup line: creates the schema and opens the connections before measuring\n")
            agent = Process([binary(bindir, "agent/logship-agent"), "--config",
                             agent_yaml(work / "agent.yaml", AGENT_IDS[0], work / "agent-data", logf, edge.port,
                                        free_port())], work / "agent.log")
            procs.append(agent)
            both = Alive(edge, ix)
            if pg is not None:
                wait_for("the warm-up row", lambda: count_rows(pg) >= 1, 90, procs, interval=0.1)
            else:
                wait_for("the warm-up record", lambda: (metric(ix.http, BLACKHOLE) or 0) >= 1, 90, procs,
                         interval=0.05)
            total = int(rate * seconds)
            writer = PacedWriter(logf, rate, total)
            if pg is not None:
                session = PsqlSession(pg, work / "poller.err")
                session.query(POLLER_SETTINGS)
                try:
                    latency_ns, _ = poll_latencies(session, writer, agent, both, seconds)
                finally:
                    writer.stop.set()
                    writer.thread.join(10)
                    session.close()
                rows = count_rows(pg)
                if rows != total + 1:
                    raise RuntimeError(f"latency: {rows} rows for {total + 1} lines")
                ms = [v / 1e6 for v in latency_ns.values()]
            else:
                ms = poll_blackhole(ix, writer, agent, both, seconds)
            ms.sort()
            return {"p50 ms": statistics.median(ms), "p99 ms": statistics.quantiles(ms, n=100)[98], "max ms": ms[-1],
                    "_lines": total}
        finally:
            for p in reversed(procs):
                p.stop()


def poll_blackhole(ix, writer, agent, both, seconds):
    """The indexer's blackhole counter every 10 ms: count c (1 = the warm-up line) means lines
    1..c-1 arrived (in order: one key, one partition). Latencies in ms."""
    total, write_ns = writer.total, writer.write_ns
    lat, seen = [], 0
    writer.thread.start()
    end = time.monotonic() + seconds + 60
    try:
        while seen < total:
            if time.monotonic() > end:
                raise RuntimeError(f"latency: {total - seen} of {total} lines not in the blackhole 60 s after "
                                   f"the writer finished")
            agent.check_alive()
            both.check_alive()
            if writer.failure:
                raise writer.failure[0]
            poll_ns = time.time_ns()
            c = int(metric(ix.http, BLACKHOLE) or 0) - 1
            upto = min(c, len(write_ns))
            while seen < upto:
                lat.append((poll_ns - write_ns[seen]) / 1e6)
                seen += 1
            time.sleep(0.01)
    finally:
        writer.stop.set()
        writer.thread.join(10)
    time.sleep(0.5)
    got = int(metric(ix.http, BLACKHOLE) or 0) - 1
    if got != total:
        raise RuntimeError(f"latency: the blackhole counted {got} records for {total} lines")
    return lat


# -- driver --------------------------------------------------------------------------------
def run_kafka(bindir, runs=3, agents=4, lines_per_agent=500000, ceiling_mib=200.0, latency_rate=20000.0,
              latency_seconds=10.0, latency_runs=None, latency_sinks=("postgres",), notes=None):
    """Every phase on one broker; returns (table rows [(name, {column: median})], notes)."""
    notes = notes if notes is not None else []
    latency_runs = runs if latency_runs is None else latency_runs
    ids = (AGENT_IDS + EXTRA_IDS)[:agents]
    data = data_file_lines(lines_per_agent)
    raw = data.stat().st_size * agents
    root = pathlib.Path(tempfile.mkdtemp(prefix="logship-bench-kafka-"))
    results, lat = [], {s: [] for s in latency_sinks}
    record_size = num_records = None
    try:
        t = time.monotonic()
        spools, lines = prefill(bindir, root, ids, data)
        if lines != lines_per_agent:
            raise RuntimeError(f"{data}: {lines} lines, expected {lines_per_agent}")
        log(f"prefill: {agents} agents × {lines:,} lines ({data.stat().st_size / 2**20:.1f} MiB each) spooled "
            f"in {time.monotonic() - t:.1f} s")
        with engines.KafkaBroker(partitions=PARTITIONS, auto_create_topics=False) as broker:
            log(f"kafka: broker {broker.bootstrap} (pid {broker.proc.pid}) ready in {broker.start_seconds:.1f} s")
            # else run 1's edge always met a cold JVM (still compiling) and its ceiling a warm one
            w = run_ceiling(broker, 60000, 300 * 2**20 // 60000, "warmup")
            log(f"warm-up (not counted): ProducerPerformance 300 MiB at {w['ceiling msg MiB/s']:.1f} MiB/s")
            for run in range(1, runs + 1):
                e = run_edge(bindir, broker, root, spools, lines_per_agent, raw, run)
                if record_size is None:
                    record_size = max(1, round(e["_msg_bytes"] / e["_messages"]))
                    num_records = max(e["_messages"], round(max(ceiling_mib * 2**20, e["_msg_bytes"]) / record_size))
                c = run_ceiling(broker, record_size, num_records, run)
                d = run_drain(bindir, broker, root, e["_topic"], e["_records"], run)
                r = {**e, **c, **d}
                r["records/msg"] = e["_records"] / e["_messages"]
                # what the edge would reach at the ceiling's byte rate, at this run's bytes per record
                r["ceiling records/s"] = c["ceiling msg MiB/s"] * 2**20 / (e["_msg_bytes"] / e["_records"])
                r["ratio"] = e["msg MiB/s"] / c["ceiling msg MiB/s"]
                results.append(r)
                log(f"run {run}: edge {e['records/s']:,.0f} records/s, {e['msg MiB/s']:.1f} MiB/s messages "
                    f"({e['raw MiB/s']:.1f} MiB/s raw) in {e['_wall']:.1f} s, {e['_messages']} messages of "
                    f"{e['_msg_bytes'] / e['_messages'] / 1024:.1f} KiB avg, sink Write() {e['_write_ms']:.1f} ms/batch, "
                    f"writers busy {100 * e['_writer_busy']:.0f}%, edge CPU {e['_edge_cpu_ms_per_batch']:.1f} ms/batch; "
                    f"CPU edge {e['edge CPU %']:.0f}% broker "
                    f"{e['broker CPU %']:.0f}% agents {e['agents CPU %']:.0f}% | ceiling {c['ceiling msg MiB/s']:.1f} "
                    f"MiB/s ({c['ceiling msgs/s']:,.0f} msgs/s of {record_size} B, avg latency "
                    f"{c['_ceiling_avg_ms']:.1f} ms, JVM {c['_ceiling_jvm_wall']:.1f} s) | ratio {r['ratio']:.2f} | "
                    f"drain {d['drain records/s']:,.0f} records/s (join {d['_join_s']:.1f} s, indexer CPU "
                    f"{d['indexer CPU %']:.0f}%, broker {d['drain broker CPU %']:.0f}%)")
            for sink in latency_sinks:
                for run in range(1, latency_runs + 1):
                    lr = run_latency(bindir, broker, root, latency_rate, latency_seconds, run, sink)
                    lat[sink].append(lr)
                    log(f"latency {sink} run {run}: p50 {lr['p50 ms']:.0f} ms, p99 {lr['p99 ms']:.0f} ms, "
                        f"max {lr['max ms']:.0f} ms ({lr['_lines']:,} lines)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return kafka_rows(results, lat, agents, lines_per_agent, raw, num_records, record_size, latency_rate,
                      latency_seconds, notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", "--build-dir", dest="bin_dir", default=str(REPO / "build"),
                    help="directory with agent/logship-agent and collector/logship-collector (with Kafka)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--lines-per-agent", type=int, default=500000)
    ap.add_argument("--ceiling-mib", type=float, default=200,
                    help="ceiling volume in MiB (at least the edge's message bytes)")
    ap.add_argument("--latency-rate", type=float, default=20000)
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--latency-runs", type=int, help="default: --runs")
    ap.add_argument("--latency-sink", choices=("postgres", "blackhole", "both", "none"), default="postgres")
    ap.add_argument("--smoke", action="store_true", help="1 run, 2 agents × 20,000 lines, 10 MiB ceiling, 3 s latency")
    bench_kafka_config.add_edge_options(ap)
    bench_kafka_config.apply_edge_options(a := ap.parse_args())
    if a.smoke:
        a.runs, a.agents, a.lines_per_agent, a.latency_seconds, a.ceiling_mib = 1, 2, 20000, 3, 10
    t0 = time.monotonic()
    sinks = {"both": ("postgres", "blackhole"), "none": ()}.get(a.latency_sink, (a.latency_sink,))
    rows, notes = run_kafka(pathlib.Path(a.bin_dir).resolve(), a.runs, a.agents, a.lines_per_agent, a.ceiling_mib,
                            a.latency_rate, a.latency_seconds, a.latency_runs, sinks)
    print(f"\nmedians of {a.runs} run(s), {os.cpu_count()} cores, {time.monotonic() - t0:.0f} s in all:")
    print_table(rows, notes)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
