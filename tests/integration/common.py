"""Shared set-up for the end-to-end tests: configs, starting the binaries, line writers."""

import os
import pathlib
import re
import time
import urllib.request

import harness


def write_collector_config(work: pathlib.Path, port: int, pg: harness.PostgresServer, extra="") -> pathlib.Path:
    path = work / "collector.yaml"
    path.write_text(
        f"listen: 127.0.0.1:{port}\n"
        "sinks:\n"
        "  postgres:\n"
        f"    dsn: \"{pg.dsn}\"\n"
        "    table: logs\n" + extra)
    return path


def write_agent_config(work: pathlib.Path, port: int, include: str, extra="", agent_id="test-agent") -> pathlib.Path:
    path = work / "agent.yaml"
    path.write_text(
        f"agent_id: {agent_id}\n"
        f"data_dir: {work / 'agent-data'}\n"
        "sources:\n"
        "  - type: file\n"
        f"    include: [\"{include}\"]\n"
        "    start_at: beginning\n"
        "    poll_interval: 250ms\n"
        "    attributes: {service: e2e}\n"
        "batch: {max_records: 2000, max_bytes: 1MiB, linger: 100ms}\n"
        "spool: {max_bytes: 256MiB, fsync: batch}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        "  backoff_min: 50ms\n"
        "  backoff_max: 1s\n" + extra)
    return path


def start_collector(binary, config, work, name="collector") -> harness.Proc:
    proc = harness.Proc([binary, "--config", config], work, name=name)
    return proc


def wait_healthy(collector_bin, port, timeout=30):
    import subprocess

    def ok():
        return subprocess.run([str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}",
                               "--timeout-ms", "1000"], capture_output=True).returncode == 0
    harness.wait_until(ok, timeout, interval=0.2, what="collector health SERVING")


class LineWriter:
    """Appends numbered lines `seq=NNNNNNNN ...` to a file, in order, never repeating a number."""

    def __init__(self, path: pathlib.Path, noise: bool = False):
        self.path = path
        self.next = 1
        self.noise = noise  # random hex per line, so batches compress poorly (fills spools fast)

    def write(self, count: int, per_second: float = 0.0):
        """Append `count` lines; at most `per_second` lines/s when given (in 20 ms slices)."""
        pad = "x" * 60
        written = 0
        start = time.monotonic()
        with open(self.path, "a", buffering=1 << 20) as f:
            while written < count:
                n = count - written
                if per_second > 0:
                    n = min(n, max(1, int(per_second / 50)))
                f.write("".join(f"seq={self.next + i:08d} level=info msg=\"hello from the e2e test\" "
                                f"{os.urandom(48).hex() if self.noise else pad}\n" for i in range(n)))
                f.flush()
                self.next += n
                written += n
                if per_second > 0:
                    target = start + written / per_second
                    delay = target - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)

    @property
    def total(self):
        return self.next - 1


def assert_exact(pg: harness.PostgresServer, expected: int, timeout: float, what: str):
    """Waits until the table holds `expected` rows, then checks every number 1..expected is there once."""
    def count():
        try:
            return int(pg.scalar("SELECT count(*) FROM logs")) >= expected
        except harness.HarnessError:  # the collector has not created the table yet
            return False
    try:
        harness.wait_until(count, timeout, interval=0.5, what=f"{expected} rows ({what})")
    except TimeoutError:
        raise AssertionError(f"{what}: only {pg.scalar('SELECT count(*) FROM logs')} of {expected} rows arrived")
    time.sleep(1.0)  # anything extra (a duplicate) would show up now
    total, distinct, lo, hi = pg.query(
        "SELECT count(*), count(DISTINCT substring(body from 'seq=(\\d+)')), "
        "min(substring(body from 'seq=(\\d+)')::int), max(substring(body from 'seq=(\\d+)')::int) FROM logs")[0]
    assert int(total) == expected, f"{what}: {total} rows, expected {expected}"
    assert int(distinct) == expected, f"{what}: {distinct} distinct numbers in {total} rows (duplicates)"
    assert (int(lo), int(hi)) == (1, expected), f"{what}: numbers span {lo}..{hi}, expected 1..{expected}"


def scrape_metric(port: int, series: str):
    """The value of one exact series on http://127.0.0.1:port/metrics, or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None
