#!/usr/bin/env python3
"""logship benchmarks. Prints a table of medians over --runs runs.

Scenarios (--only to pick; default all):
  baselines         cat, wc -l and zstd -1 on the same file (the physical floor)
  file_to_spool     agent: read + split + batch + compress + spool, no network
  file_to_blackhole agent → gRPC → collector with the blackhole sink: both processes,
                    and bytes on the wire against raw bytes

usage: scripts/bench/bench.py [--size-mib 1024] [--runs 3] [--build-dir build] [--smoke]
--smoke: a 10 MiB file and one run (CI-friendly). Data is cached in /tmp/logship-bench/.
"""

import argparse
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = pathlib.Path("/tmp/logship-bench")
TICK = os.sysconf("SC_CLK_TCK")


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


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


class Process:
    def __init__(self, args, log):
        self.p = subprocess.Popen([str(a) for a in args], stdout=open(log, "w"), stderr=subprocess.STDOUT)

    def cpu_seconds(self):
        fields = open(f"/proc/{self.p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def peak_rss_mib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


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


def wait_metric(port, name, target, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = metric(port, name)
        if v is not None and v >= target:
            return True
        if proc.p.poll() is not None:
            raise RuntimeError(f"process exited early while waiting for {name}")
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {name} >= {target}")


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
    work = pathlib.Path(tempfile.mkdtemp(prefix="logship-bench-"))
    try:
        http_port = free_port()
        cfg = agent_config(work, path, free_port(), http_port, fsync=fsync)  # nobody listens on that port
        t0 = time.monotonic()
        agent = Process([build / "agent/logship-agent", "--config", cfg], work / "agent.log")
        wait_metric(http_port, "logship_agent_records_spooled_total", lines, 3600, agent)
        wall = time.monotonic() - t0
        cpu, rss = agent.cpu_seconds(), agent.peak_rss_mib()
        agent.stop()
        return {"MiB/s": size / wall, "lines/s": lines / wall, "CPU s/GiB": cpu / (size / 1024),
                "agent RSS MiB": rss}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_file_to_blackhole(build, path, size, lines):
    work = pathlib.Path(tempfile.mkdtemp(prefix="logship-bench-"))
    try:
        port, ahttp, chttp = free_port(), free_port(), free_port()
        ccfg = work / "collector.yaml"
        ccfg.write_text(f"listen: 127.0.0.1:{port}\nsinks: {{blackhole: {{}}}}\nhttp: {{listen: 127.0.0.1:{chttp}}}\n")
        collector = Process([build / "collector/logship-collector", "--config", ccfg], work / "collector.log")
        time.sleep(0.5)
        t0 = time.monotonic()
        agent = Process([build / "agent/logship-agent", "--config", agent_config(work, path, port, ahttp)],
                        work / "agent.log")
        wait_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}', lines, 3600, collector)
        wall = time.monotonic() - t0
        wire = metric(ahttp, "logship_agent_bytes_sent_total") or 0
        res = {"MiB/s": size / wall, "lines/s": lines / wall,
               "CPU s/GiB": agent.cpu_seconds() / (size / 1024), "agent RSS MiB": agent.peak_rss_mib(),
               "collector CPU s/GiB": collector.cpu_seconds() / (size / 1024),
               "collector RSS MiB": collector.peak_rss_mib(), "wire/raw": wire / (size * 1024 * 1024)}
        agent.stop()
        collector.stop()
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def median_of(runs):
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=float, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-dir", default=str(REPO / "build"))
    ap.add_argument("--only", default="baselines,file_to_spool,file_to_blackhole")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.size_mib, a.runs = 10, 1
    build = pathlib.Path(a.build_dir)
    path, lines = data_file(a.size_mib)
    size = path.stat().st_size / (1024 * 1024)
    only = a.only.split(",")
    rows = []
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
    cols = ["MiB/s", "lines/s", "CPU s/GiB", "agent RSS MiB", "collector CPU s/GiB", "collector RSS MiB", "wire/raw"]
    print("| scenario | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            cells.append("" if v is None else (f"{v:,.0f}" if c == "lines/s" else f"{v:.3f}" if c == "wire/raw" else f"{v:,.1f}"))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
