"""The benchmarks' processes: the agent and the collector from a build tree, their configs,
their CPU and memory (from /proc), and a throwaway workspace."""

import contextlib
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    wait_serving(exe, port, collector)
    return collector, port, http


def wait_serving(exe, port, collector, timeout=30):
    """Until the collector on `port` answers its health check SERVING."""
    deadline = time.monotonic() + timeout
    while subprocess.run([exe, "healthcheck", "--address", f"127.0.0.1:{port}", "--timeout-ms", "500"],
                         capture_output=True).returncode:
        collector.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"collector not SERVING after {timeout} s; log tail:\n{tail(collector.log)}")
        time.sleep(0.1)


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
