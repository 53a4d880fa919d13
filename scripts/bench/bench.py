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

PostgreSQL is a throwaway server started exactly like the integration tests do
(tests/integration/harness.py: fsync, synchronous_commit and full_page_writes off).

usage: scripts/bench/bench.py [--size-mib 1024] [--runs 3] [--build-dir build] [--smoke]
--smoke: a 10 MiB file, one run, 5 s latency and 10 s many-files phases (CI-friendly).
Data is cached in /tmp/logship-bench/.
"""

import argparse
import contextlib
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = pathlib.Path("/tmp/logship-bench")
TICK = os.sysconf("SC_CLK_TCK")
PG_COLUMNS = "id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id"
PG_SINK_METRIC = 'logship_collector_sink_records_total{sink="postgres"}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def binary(build, rel, timeout=300):
    """build/rel, waiting while a rebuild has it missing for a moment."""
    path = build / rel
    deadline = time.monotonic() + timeout
    while not os.access(path, os.X_OK):
        if time.monotonic() > deadline:
            raise RuntimeError(f"binary not found: {path}")
        time.sleep(1)
    time.sleep(0.2)  # a file that just appeared may still be being written by the linker
    return path


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def tail(path, n=20):
    try:
        return "\n".join(pathlib.Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class Process:
    def __init__(self, args, log):
        self.log = log
        self.name = pathlib.Path(str(args[0])).name
        with open(log, "w") as f:
            self.p = subprocess.Popen([str(a) for a in args], stdout=f, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)

    def cpu_seconds(self):
        fields = open(f"/proc/{self.p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def _status(self, key):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return 0.0

    def peak_rss_mib(self):
        return self._status("VmHWM:")

    def rss_mib(self):
        return self._status("VmRSS:")

    def check_alive(self):
        if self.p.poll() is not None:
            raise RuntimeError(f"{self.name} exited early ({self.p.returncode}); log tail:\n{tail(self.log)}")

    def stop(self):
        if self.p.poll() is not None:
            return
        self.p.terminate()
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


@contextlib.contextmanager
def workspace():
    """A temp dir plus a list of started processes; all stopped and removed on the way out."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="logship-bench-"))
    procs = []
    try:
        yield work, procs
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


def agent_config(work, data, port, http_port, fsync="batch", level=1):
    cfg = work / "agent.yaml"
    cfg.write_text(
        "agent_id: bench\n"
        f"data_dir: {work / 'agent-data'}\n"
        "sources:\n"
        "  - type: file\n"
        f"    include: [\"{data}\"]\n"
        "    start_at: beginning\n"
        "spool: {max_bytes: 64GiB, fsync: " + fsync + "}\n"
        f"compression: {{level: {level}}}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        "  max_in_flight: 16\n"
        f"http: {{listen: 127.0.0.1:{http_port}}}\n")
    return cfg


def start_collector(build, work, procs, sink_yaml):
    """A collector with the given `sinks:` value; returns (process, grpc port, http port) once SERVING."""
    port, http = free_port(), free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\nsinks: {sink_yaml}\nhttp: {{listen: 127.0.0.1:{http}}}\n")
    exe = binary(build, "collector/logship-collector")
    collector = Process([exe, "--config", cfg], work / "collector.log")
    procs.append(collector)
    deadline = time.monotonic() + 30
    while subprocess.run([exe, "healthcheck", "--address", f"127.0.0.1:{port}", "--timeout-ms", "500"],
                         capture_output=True).returncode:
        collector.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"collector not SERVING after 30 s; log tail:\n{tail(collector.log)}")
        time.sleep(0.1)
    return collector, port, http


def start_agent(build, work, procs, cfg):
    agent = Process([binary(build, "agent/logship-agent"), "--config", cfg], work / "agent.log")
    procs.append(agent)
    return agent


def wait_metric(port, name, target, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = metric(port, name)
        if v is not None and v >= target:
            return True
        proc.check_alive()
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {name} >= {target}")


# ---------------------------------------------------------------- PostgreSQL helpers

@contextlib.contextmanager
def postgres():
    """The integration tests' throwaway server (same initdb and server options), stopped on exit."""
    sys.path.insert(0, str(REPO / "tests/integration"))
    import harness
    with harness.PostgresServer() as pg:
        yield pg


def pg_settings_note(pg):
    names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size")
    vals = {n: pg.scalar(f"SHOW {n}") for n in names}
    version = pg.scalar("SHOW server_version").split()[0]
    return (f"PostgreSQL {version}, started like tests/integration/harness.py (initdb -A trust, "
            f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off; other settings default): "
            + ", ".join(f"{k}={v}" for k, v in vals.items()))


def psql_cmd(pg, *args):
    sys.path.insert(0, str(REPO / "tests/integration"))
    import harness
    return [harness.PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
            "-U", "logship", "-d", "logs", *args]


def psql(pg, command):
    r = subprocess.run(psql_cmd(pg, "-c", command), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"psql failed: {command}\n{r.stderr.strip()}")
    return r.stdout


def count_rows(pg, table="logs"):
    out = psql(pg, f"SELECT CASE WHEN to_regclass('{table}') IS NULL THEN -1 ELSE 0 END").split()
    if out and out[-1] == "-1":  # created by the collector with its first batch
        return 0
    return int(pg.scalar(f"SELECT count(*) FROM {table}"))


class PsqlSession:
    """One long-lived psql reading queries from a pipe (no connection set-up per query)."""

    def __init__(self, pg, log):
        self.errlog = open(log, "w")
        self.p = subprocess.Popen(psql_cmd(pg, "-At", "-F", "\t"), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.errlog, text=True, bufsize=1)
        self.log = log

    def query(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __logship_end__\n")
        self.p.stdin.flush()
        rows = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"psql session ended: {tail(self.log, 5)}")
            line = line.rstrip("\n")
            if line == "__logship_end__":
                return rows
            rows.append(line.split("\t"))

    def close(self):
        with contextlib.suppress(OSError):
            self.p.stdin.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.errlog.close()


# ---------------------------------------------------------------- scenarios

def run_baselines(path, size):
    out = {}
    for name, cmd in (("cat", f"cat {path} > /dev/null"), ("wc -l", f"wc -l {path} > /dev/null"),
                      ("zstd -1", f"zstd -1 -T1 -q -c {path} > /dev/null")):
        t0 = time.monotonic()
        r0 = os.times()
        subprocess.run(cmd, shell=True, check=True)
        r1 = os.times()
        wall = time.monotonic() - t0
        cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
        out[name] = {"MiB/s": size / wall, "CPU s/GiB": cpu / (size / 1024)}
    return out


def run_file_to_spool(build, path, size, lines, fsync):
    with workspace() as (work, procs):
        http_port = free_port()
        cfg = agent_config(work, path, free_port(), http_port, fsync=fsync)  # nobody listens on that port
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, cfg)
        wait_metric(http_port, "logship_agent_records_spooled_total", lines, 3600, agent)
        wall = time.monotonic() - t0
        return {"MiB/s": size / wall, "lines/s": lines / wall, "CPU s/GiB": agent.cpu_seconds() / (size / 1024),
                "agent RSS MiB": agent.peak_rss_mib()}


def run_file_to_blackhole(build, path, size, lines):
    with workspace() as (work, procs):
        collector, port, chttp = start_collector(build, work, procs, "{blackhole: {}}")
        ahttp = free_port()
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, agent_config(work, path, port, ahttp))
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', lines, 3600, collector)
        wall = time.monotonic() - t0
        wire = metric(ahttp, "logship_agent_bytes_sent_total") or 0
        return {"MiB/s": size / wall, "lines/s": lines / wall,
                "CPU s/GiB": agent.cpu_seconds() / (size / 1024), "agent RSS MiB": agent.peak_rss_mib(),
                "collector CPU s/GiB": collector.cpu_seconds() / (size / 1024),
                "collector RSS MiB": collector.peak_rss_mib(), "wire/raw": wire / (size * 1024 * 1024)}


def postgres_sink_yaml(pg):
    return "{postgres: {dsn: \"" + pg.dsn + "\", table: logs}}"


def run_pg_ingest(build, path, size, lines, notes):
    with postgres() as pg, workspace() as (work, procs):
        notes.append(pg_settings_note(pg))
        collector, port, chttp = start_collector(build, work, procs, postgres_sink_yaml(pg))
        ahttp = free_port()
        t0 = time.monotonic()
        agent = start_agent(build, work, procs, agent_config(work, path, port, ahttp))
        # Every 0.2 s: the sink metric (cheap); count(*) once the metric says everything is
        # committed, and every 2 s regardless (a full count(*) of millions of rows five times a
        # second would take CPU from the processes being measured on a small machine).
        deadline, last_count, rows = t0 + 3600, 0.0, 0
        while True:
            tick = time.monotonic()
            committed = metric(chttp, PG_SINK_METRIC)
            if committed is None or committed >= lines or tick - last_count >= 2:
                rows, last_count = count_rows(pg), tick
                if rows >= lines:
                    break
            collector.check_alive()
            agent.check_alive()
            if tick > deadline:
                raise RuntimeError(f"timed out: {rows} of {lines} rows; collector log:\n{tail(collector.log)}")
            time.sleep(max(0.0, 0.2 - (time.monotonic() - tick)))
        wall = time.monotonic() - t0
        committed = metric(chttp, PG_SINK_METRIC)
        res = {"MiB/s": size / wall, "rows/s": lines / wall,
               "CPU s/GiB": agent.cpu_seconds() / (size / 1024), "agent RSS MiB": agent.peak_rss_mib(),
               "collector CPU s/GiB": collector.cpu_seconds() / (size / 1024),
               "collector RSS MiB": collector.peak_rss_mib()}
        agent.stop()
        collector.stop()
        if rows != lines or committed != lines:
            notes.append(f"pg_ingest: WARNING {rows} rows / sink metric {committed} for {lines} lines")

        # The ceiling: the same rows, psql \copy into an empty table of the same shape.
        export = work / "rows.copy"
        psql(pg, f"\\copy (SELECT {PG_COLUMNS} FROM logs) TO '{export}'")
        parts = pg.query("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                         "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'logs'::regclass")
        ddl = ["CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL) PARTITION BY RANGE (ts)"]
        ddl += [f"CREATE TABLE \"{name.replace('logs', 'logs_ceiling', 1)}\" PARTITION OF logs_ceiling {bound}"
                for name, bound in parts]
        psql(pg, "; ".join(ddl))
        psql(pg, "CHECKPOINT")
        t1 = time.monotonic()
        psql(pg, f"\\copy logs_ceiling ({PG_COLUMNS}) FROM '{export}'")
        ceiling_wall = time.monotonic() - t1
        ceiling_rows = count_rows(pg, "logs_ceiling")
        if ceiling_rows != rows:
            raise RuntimeError(f"ceiling copied {ceiling_rows} rows, expected {rows}")
        notes.append(f"pg_ingest: ceiling = one `psql -c \"\\copy logs_ceiling FROM file\"` (one transaction) into "
                     f"CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL) PARTITION BY RANGE (ts), i.e. UNIQUE (id, ts), "
                     f"BRIN on ts, partial trace_id/correlation_id indexes, and logs' {len(parts)} partitions "
                     f"(day partitions + default); CHECKPOINT before it. Collector rows/s = line count / "
                     f"(agent start → SELECT count(*) FROM logs = line count).")
        res["ceiling rows/s"] = rows / ceiling_wall
        res["ratio"] = res["rows/s"] / res["ceiling rows/s"]
        return res


def run_latency(build, rate, seconds, notes):
    with postgres() as pg, workspace() as (work, procs):
        collector, port, chttp = start_collector(build, work, procs, postgres_sink_yaml(pg))
        log = work / "latency.log"
        log.write_text("warmup line: creates the schema and opens the connections before measuring\n")
        ahttp = free_port()
        agent = start_agent(build, work, procs, agent_config(work, log, port, ahttp))
        deadline = time.monotonic() + 60
        while count_rows(pg) < 1:
            agent.check_alive()
            collector.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"warm-up line never arrived; collector log:\n{tail(collector.log)}")
            time.sleep(0.1)

        total = int(rate * seconds)
        write_ns = []                # write_ns[i] = time.time_ns() when line i+1 was appended
        stop = threading.Event()
        failure = []

        def writer():
            fd = os.open(log, os.O_WRONLY | os.O_APPEND)
            try:
                start = time.monotonic()
                while len(write_ns) < total and not stop.is_set():
                    due = min(total, int((time.monotonic() - start) * rate)) - len(write_ns)
                    if due > 0:
                        now = time.time_ns()
                        first = len(write_ns) + 1
                        os.write(fd, "".join(f"lat id={i:09d} t={now} {'x' * 60}\n"
                                             for i in range(first, first + due)).encode())
                        write_ns.extend([now] * due)
                    time.sleep(0.002)
            except Exception as e:  # noqa: BLE001 — reported by the main thread
                failure.append(e)
            finally:
                os.close(fd)

        session = PsqlSession(pg, work / "poller.err")
        # ts has only a BRIN index, and BRIN ranges stay unsummarized until a vacuum, so the poller
        # summarizes new ranges itself before each poll (incremental, cheap; skipped for that
        # poll when autovacuum holds the lock) and takes the bitmap scan: microseconds per poll
        # instead of a parallel seq scan of the whole partition 20 times a second.
        session.query("SET max_parallel_workers_per_gather = 0; SET enable_seqscan = off")
        summarize = ("DO $$ BEGIN PERFORM set_config('lock_timeout', '10ms', true); "
                     "PERFORM brin_summarize_new_values(i.indexrelid) FROM pg_index i "
                     "JOIN pg_inherits h ON h.inhrelid = i.indrelid JOIN pg_class c ON c.oid = i.indexrelid "
                     "JOIN pg_am a ON a.oid = c.relam WHERE h.inhparent = 'logs'::regclass AND a.amname = 'brin'; "
                     "EXCEPTION WHEN lock_not_available THEN NULL; END $$; ")
        latency_ns = {}
        thread = threading.Thread(target=writer, daemon=True)
        try:
            # Poll every 50 ms, stamping each row first seen with the poll's start time. Only rows
            # that may be new are fetched: xmin at or above the previous snapshot's xmin (every
            # older transaction was already visible then), and ts (= observed time, never before
            # the write) no earlier than 1 s before the oldest line not yet seen. The loop ends only
            # when every line was seen, so a wrong filter would show up as a timeout, not as data.
            prev_xmin, first_unseen, query_s = 0, 1, []
            thread.start()
            end = time.monotonic() + seconds + 60
            while first_unseen <= total:
                tick = time.monotonic()
                if tick > end:
                    raise RuntimeError(f"latency: {total - len(latency_ns)} of {total} lines not visible 60 s "
                                       f"after the writer finished")
                agent.check_alive()
                collector.check_alive()
                if failure:
                    raise failure[0]
                written = len(write_ns)
                lo_ns = (write_ns[first_unseen - 1] if first_unseen <= written else time.time_ns()) - 1_000_000_000
                poll_ns = time.time_ns()
                rows = session.query(
                    summarize + "SELECT 'x', pg_snapshot_xmin(pg_current_snapshot())::text UNION ALL "
                    f"SELECT 'r', body FROM logs WHERE ts >= to_timestamp({lo_ns / 1e9:.6f}) "
                    f"AND xmin::text::bigint >= {prev_xmin}")
                query_s.append(time.monotonic() - tick)
                for row in rows:
                    if row[0] == "x":
                        prev_xmin = int(row[1])
                    elif row[1].startswith("lat id="):
                        ident, t = row[1].split(" ", 3)[1:3]
                        i = int(ident[3:])
                        if i not in latency_ns:
                            latency_ns[i] = poll_ns - int(t[2:])
                while first_unseen in latency_ns:
                    first_unseen += 1
                time.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
        finally:
            stop.set()
            thread.join(10)
            session.close()
        rows = count_rows(pg)
        if rows != total + 1:
            notes.append(f"latency: WARNING {rows} rows for {total + 1} lines")
        ms = sorted(v / 1e6 for v in latency_ns.values())
        notes.append(f"latency: {total:,} lines at {rate:,.0f}/s for {seconds:g} s, agent defaults (batch 2000 records / "
                     f"1 MiB / linger 200ms: at this rate a batch fills by count every ~{2000 / rate * 1000:.0f} ms, so "
                     f"linger rarely closes one; not lowered). Visible = start of the first 50 ms poll that returns "
                     f"the row (+25 ms on average from the polling itself); the poller summarizes new BRIN "
                     f"ranges on ts before each poll so it never seq-scans; poll round trip mean "
                     f"{statistics.mean(query_s) * 1000:.1f} ms, max {max(query_s) * 1000:.1f} ms.")
        return {"lines/s": rate, "p50 ms": statistics.median(ms), "p99 ms": statistics.quantiles(ms, n=100)[98],
                "max ms": ms[-1], "agent RSS MiB": agent.peak_rss_mib(), "collector RSS MiB": collector.peak_rss_mib()}


def run_many_files(build, files, seconds, interval, notes):
    with workspace() as (work, procs):
        logs = work / "logs"
        logs.mkdir()
        paths = [logs / f"app-{i:04d}.log" for i in range(files)]
        for i, p in enumerate(paths):
            p.write_text(f"file {i:04d} line 0 started level=info msg=\"service up\"\n")
        collector, port, chttp = start_collector(build, work, procs, "{blackhole: {}}")
        ahttp = free_port()
        agent = start_agent(build, work, procs, agent_config(work, logs / "*.log", port, ahttp))
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', files, 120, agent)
        time.sleep(2)  # let start-up work (globbing, opening, first batches) settle
        cpu0, t0 = agent.cpu_seconds(), time.monotonic()
        step = interval / files  # one line to the next file every step: each file gets one line per interval
        written = 0
        while True:
            now = time.monotonic()
            if now - t0 >= seconds:
                break
            while written < int((now - t0) / step):
                with open(paths[written % files], "a") as f:
                    f.write(f"file {written % files:04d} line {written // files + 1} level=info "
                            f"msg=\"heartbeat\" seq={written}\n")
                written += 1
            agent.check_alive()
            time.sleep(0.005)
        wall = time.monotonic() - t0
        cpu = agent.cpu_seconds() - cpu0
        res = {"lines/s": written / wall, "agent CPU %": 100 * cpu / wall, "agent RSS MiB": agent.peak_rss_mib()}
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', files + written, 30, agent)
        notes.append(f"many_files_cpu: {files} files, one line per file every {interval:g} s "
                     f"({files / interval:g} lines/s), {seconds:g} s measured after start-up; agent CPU = "
                     f"(utime+stime) / wall, RSS = peak (VmHWM, now {agent.rss_mib():.1f} MiB); agent defaults "
                     f"(poll_interval 1s); collector with the blackhole sink; all lines delivered.")
        return res


def median_of(runs):
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


COLUMNS = {  # column → format
    "MiB/s": "{:,.1f}", "lines/s": "{:,.0f}", "rows/s": "{:,.0f}", "ceiling rows/s": "{:,.0f}", "ratio": "{:.2f}",
    "p50 ms": "{:,.0f}", "p99 ms": "{:,.0f}", "max ms": "{:,.0f}", "CPU s/GiB": "{:,.1f}", "agent CPU %": "{:.2f}",
    "agent RSS MiB": "{:,.1f}", "collector CPU s/GiB": "{:,.1f}", "collector RSS MiB": "{:,.1f}",
    "wire/raw": "{:.3f}",
}
SCENARIOS = "baselines,file_to_spool,file_to_blackhole,pg_ingest,latency,many_files_cpu"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=float, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-dir", default=str(REPO / "build"))
    ap.add_argument("--only", default=SCENARIOS)
    ap.add_argument("--latency-rate", type=float, default=20000)
    ap.add_argument("--latency-seconds", type=float, default=20)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--files-interval", type=float, default=10, help="seconds between two lines of one file")
    ap.add_argument("--files-seconds", type=float, default=30)
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.size_mib, a.runs, a.latency_seconds, a.files_seconds = 10, 1, 5, 10
    only = a.only.split(",")
    unknown = set(only) - set(SCENARIOS.split(","))
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    build = pathlib.Path(a.build_dir)
    path, lines = data_file(a.size_mib)
    size = path.stat().st_size / (1024 * 1024)
    rows, notes = [], []
    print(f"data: {path} — {size:.0f} MiB, {lines} lines; median of {a.runs} run(s); {os.cpu_count()} cores",
          file=sys.stderr)
    if "baselines" in only:
        runs = [run_baselines(path, size) for _ in range(a.runs)]
        for name in runs[0]:
            rows.append((f"baseline: {name}", median_of([r[name] for r in runs])))
    if "file_to_spool" in only:
        for fsync in ("batch", "never"):
            rows.append((f"agent file → spool (fsync: {fsync})",
                         median_of([run_file_to_spool(build, path, size, lines, fsync) for _ in range(a.runs)])))
    if "file_to_blackhole" in only:
        rows.append(("agent → collector (blackhole)",
                     median_of([run_file_to_blackhole(build, path, size, lines) for _ in range(a.runs)])))
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
    cols = [c for c in COLUMNS if any(c in r for _, r in rows)]
    print("| scenario | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, r in rows:
        print(f"| {name} | " + " | ".join("" if r.get(c) is None else COLUMNS[c].format(r[c]) for c in cols) + " |")
    for note in dict.fromkeys(notes):  # once each, in order
        print(f"- {note}")


if __name__ == "__main__":
    main()
