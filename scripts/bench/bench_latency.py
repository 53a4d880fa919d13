"""The latency scenario: lines written at a fixed rate, each timed until a poller querying
PostgreSQL every 50 ms sees its row."""

import os
import statistics
import threading
import time

from bench_postgres import PsqlSession, count_rows, postgres, postgres_sink_yaml
from bench_processes import agent_config, free_port, start_agent, start_collector, tail, workspace


# ts has only a BRIN index, and BRIN ranges stay unsummarized until a vacuum, so the poller
# summarizes new ranges itself before each poll (incremental, cheap; skipped for that
# poll when autovacuum holds the lock) and takes the bitmap scan: microseconds per poll
# instead of a parallel seq scan of the whole partition 20 times a second.
POLLER_SETTINGS = "SET max_parallel_workers_per_gather = 0; SET enable_seqscan = off"
SUMMARIZE_BRIN = ("DO $$ BEGIN PERFORM set_config('lock_timeout', '10ms', true); "
                  "PERFORM brin_summarize_new_values(i.indexrelid) FROM pg_index i "
                  "JOIN pg_inherits h ON h.inhrelid = i.indrelid JOIN pg_class c ON c.oid = i.indexrelid "
                  "JOIN pg_am a ON a.oid = c.relam WHERE h.inhparent = 'logs'::regclass AND a.amname = 'brin'; "
                  "EXCEPTION WHEN lock_not_available THEN NULL; END $$; ")


def wait_warmup_row(pg, agent, collector):
    """Until the warm-up line is a row: the schema exists and the connections are open."""
    deadline = time.monotonic() + 60
    while count_rows(pg) < 1:
        agent.check_alive()
        collector.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm-up line never arrived; collector log:\n{tail(collector.log)}")
        time.sleep(0.1)


class PacedWriter:
    """Appends `total` numbered lines to a file at `rate` lines/s from a thread, each stamped
    with its write time; write_ns[i] = time.time_ns() when line i+1 was appended."""

    def __init__(self, log, rate, total):
        self.log, self.rate, self.total = log, rate, total
        self.write_ns = []
        self.stop = threading.Event()
        self.failure = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        write_ns, total, rate = self.write_ns, self.total, self.rate
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        try:
            start = time.monotonic()
            while len(write_ns) < total and not self.stop.is_set():
                due = min(total, int((time.monotonic() - start) * rate)) - len(write_ns)
                if due > 0:
                    now = time.time_ns()
                    first = len(write_ns) + 1
                    os.write(fd, "".join(f"lat id={i:09d} t={now} {'x' * 60}\n"
                                         for i in range(first, first + due)).encode())
                    write_ns.extend([now] * due)
                time.sleep(0.002)
        except Exception as e:  # noqa: BLE001 — reported by the main thread
            self.failure.append(e)
        finally:
            os.close(fd)


def poll_latencies(session, writer, agent, collector, seconds):
    """Starts the writer and polls until every line is a row: ({line number: latency ns},
    [seconds per poll])."""
    total, write_ns = writer.total, writer.write_ns
    latency_ns = {}
    # Poll every 50 ms, stamping each row first seen with the poll's start time. Only rows
    # that may be new are fetched: xmin at or above the previous snapshot's xmin (every
    # older transaction was already visible then), and ts (= observed time, never before
    # the write) no earlier than 1 s before the oldest line not yet seen. The loop ends only
    # when every line was seen, so a wrong filter would show up as a timeout, not as data.
    prev_xmin, first_unseen, query_s = 0, 1, []
    writer.thread.start()
    end = time.monotonic() + seconds + 60
    while first_unseen <= total:
        tick = time.monotonic()
        if tick > end:
            raise RuntimeError(f"latency: {total - len(latency_ns)} of {total} lines not visible 60 s "
                               f"after the writer finished")
        agent.check_alive()
        collector.check_alive()
        if writer.failure:
            raise writer.failure[0]
        written = len(write_ns)
        lo_ns = (write_ns[first_unseen - 1] if first_unseen <= written else time.time_ns()) - 1_000_000_000
        poll_ns = time.time_ns()
        rows = session.query(
            SUMMARIZE_BRIN + "SELECT 'x', pg_snapshot_xmin(pg_current_snapshot())::text UNION ALL "
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
    return latency_ns, query_s


def run_latency(build, rate, seconds, notes):
    with postgres() as pg, workspace() as (work, procs):
        collector, port, chttp = start_collector(build, work, procs, postgres_sink_yaml(pg))
        log = work / "latency.log"
        log.write_text("warmup line: creates the schema and opens the connections before measuring\n")
        ahttp = free_port()
        agent = start_agent(build, work, procs, agent_config(work, log, port, ahttp))
        wait_warmup_row(pg, agent, collector)

        total = int(rate * seconds)
        writer = PacedWriter(log, rate, total)
        session = PsqlSession(pg, work / "poller.err")
        session.query(POLLER_SETTINGS)
        try:
            latency_ns, query_s = poll_latencies(session, writer, agent, collector, seconds)
        finally:
            writer.stop.set()
            writer.thread.join(10)
            session.close()
        rows = count_rows(pg)
        if rows != total + 1:
            notes.append(f"latency: WARNING {rows} rows for {total + 1} lines")
        ms = sorted(v / 1e6 for v in latency_ns.values())
        notes.append(f"latency: {total:,} lines at {rate:,.0f}/s for {seconds:g} s, agent defaults (batch 10,000 records / "
                     f"1 MiB / linger 200ms; a caught-up source's batch is sealed at 1,000 records: every "
                     f"~{1000 / rate * 1000:.0f} ms at this rate, so linger rarely closes one; not lowered). Visible = start of the first 50 ms poll that returns "
                     f"the row (+25 ms on average from the polling itself); the poller summarizes new BRIN "
                     f"ranges on ts before each poll so it never seq-scans; poll round trip mean "
                     f"{statistics.mean(query_s) * 1000:.1f} ms, max {max(query_s) * 1000:.1f} ms.")
        return {"lines/s": rate, "p50 ms": statistics.median(ms), "p99 ms": statistics.quantiles(ms, n=100)[98],
                "max ms": ms[-1], "agent RSS MiB": agent.peak_rss_mib(), "collector RSS MiB": collector.peak_rss_mib()}
