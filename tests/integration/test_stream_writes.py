#!/usr/bin/env python3
"""One agent's stream keeps several writes in flight (limits.stream_writes_in_flight), and
commits that finish out of order still store every line exactly once.

PostgreSQL's `logs` table is locked (ACCESS EXCLUSIVE, from a psql session) while one agent
sends small batches, so every write the collector starts waits inside COPY:
  1. defaults: logship_collector_ingest_writes climbs to 4 for that one stream, never above;
     after the lock is released every line is stored once: numbered lines, CRLF endings,
     500 identical header lines and a partial last line completed later. Fails where a stream
     writes one batch at a time, or where an inline write holds the decoding of later frames.
  2. stream_writes_in_flight: 1 (the collector restarted with it): never more than 1.
"""

import subprocess
import sys
import time

import common
import harness

WRITES = "logship_collector_ingest_writes"


class TableLock:
    """ACCESS EXCLUSIVE on logs, held by a psql session until release()."""

    def __init__(self, pg):
        self.proc = subprocess.Popen([harness.PSQL, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                      "-p", str(pg.port), "-U", "logship", "-d", "logs"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.proc.stdin.write("BEGIN;\nLOCK TABLE logs IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert "locked" in line, f"psql could not lock logs: {line}"

    def release(self):
        self.proc.stdin.write("COMMIT;\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0, self.proc.stdout.read()


def write_lines(path, first, count, newline="\n"):
    with open(path, "a", newline="") as f:
        for n in range(first, first + count):
            f.write(f"seq={n:08d} level=info msg=\"stream writes\"{newline}")


def watch_writes(http, expect, seconds):
    """Samples the gauge: waits until it reaches `expect`, then for `seconds` more; the highest seen."""
    harness.wait_until(lambda: (common.scrape_metric(http, WRITES) or 0) >= expect, 30, interval=0.05,
                       what=f"{WRITES} = {expect}")
    most = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        most = max(most, common.scrape_metric(http, WRITES) or 0)
        time.sleep(0.05)
    return most


def start_collector(collector_bin, work, pg, port, http, limits, name):
    cfg = common.write_collector_config(work, port, pg, extra=f"http: {{listen: 127.0.0.1:{http}}}\n" + limits)
    proc = common.start_collector(collector_bin, cfg, work, name=name)
    common.wait_healthy(collector_bin, port)
    return proc


def count(pg, where):
    return int(pg.scalar(f"SELECT count(*) FROM logs WHERE {where}"))


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-stream-writes")
    logs = work / "logs"
    logs.mkdir()
    app = logs / "app.log"
    with harness.PostgresServer() as pg:
        port, http = harness.free_port(), harness.free_port()
        collector = start_collector(collector_bin, work, pg, port, http, "", "collector")
        harness.wait_until(lambda: pg.scalar("SELECT to_regclass('logs') IS NOT NULL") == "t", 30,
                           what="the logs table")
        # Before the agent starts: numbered lines (half with CRLF), a constant header line 500
        # times, and a last line without its newline yet.
        with open(app, "w", newline="") as f:
            f.write("".join("# constant header\r\n" for _ in range(500)))
        write_lines(app, 1, 6000)
        write_lines(app, 6001, 6000, newline="\r\n")
        with open(app, "a") as f:
            f.write("seq=00012001 level=info msg=\"partial")
        agent_cfg = work / "agent.yaml"
        agent_cfg.write_text(
            "agent_id: writes-agent\n"
            f"data_dir: {work / 'agent-data'}\n"
            f"sources: [{{type: file, include: [\"{logs}/*.log\"], start_at: beginning, poll_interval: 100ms}}]\n"
            "batch: {max_records: 250, max_bytes: 1MiB, linger: 50ms}\n"
            f"collector: {{endpoints: [\"127.0.0.1:{port}\"], backoff_min: 50ms, backoff_max: 1s}}\n"
            "http: {listen: \"\"}\n")
        lock = TableLock(pg)
        agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
        try:
            most = watch_writes(http, 4, 2.0)
            assert most == 4, f"defaults: {most} writes in flight for one stream, expected 4"
            lock.release()
            with open(app, "a") as f:
                f.write(" line\"\n")  # completes the partial line
            harness.wait_until(lambda: count(pg, "true") >= 12501, 60, interval=0.3, what="12,501 rows")
            time.sleep(1.0)  # a duplicate would show up now
            assert count(pg, "true") == 12501, f"{count(pg, 'true')} rows, expected 12,501"
            # (CRLF: the line ends at \n and keeps its \r, as the README's catalogue says)
            assert count(pg, "body = '# constant header' || chr(13)") == 500, "the 500 identical header lines"
            distinct = int(pg.scalar("SELECT count(DISTINCT substring(body from 'seq=(\\d+)')) FROM logs"))
            assert distinct == 12001, f"{distinct} distinct numbered lines, expected 12,001"
            assert count(pg, "body LIKE '%' || chr(13)") == 6500, "the CRLF lines, whole"
            assert count(pg, "body = 'seq=00012001 level=info msg=\"partial line\"'") == 1, "the partial line"
            print("defaults: 4 writes in flight for one stream; 12,501 rows exact")

            assert collector.terminate() == 0
            collector = start_collector(collector_bin, work, pg, port, http,
                                        "limits: {stream_writes_in_flight: 1}\n", "collector-serial")
            lock = TableLock(pg)
            write_lines(app, 12002, 4000)
            most = watch_writes(http, 1, 2.0)
            assert most == 1, f"stream_writes_in_flight: 1 let {most} writes run at once"
            lock.release()
            harness.wait_until(lambda: count(pg, "true") >= 16501, 60, interval=0.3, what="16,501 rows")
            time.sleep(1.0)
            assert count(pg, "true") == 16501, f"{count(pg, 'true')} rows, expected 16,501"
            print("stream_writes_in_flight 1: one write at a time; 16,501 rows exact")
        except BaseException:
            print("--- agent ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print("stream_writes: 2 passed, 0 failed")


if __name__ == "__main__":
    main()
