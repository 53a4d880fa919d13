#!/usr/bin/env python3
"""Limits that disagree between agent and collector never wedge a stream.

- An agent whose batches (4 MiB of incompressible lines) exceed the collector's frame limit
  (1 MiB) sends them in parts: every line arrives exactly once.
- One line larger than any frame the collector takes is set aside in the agent's
  dead-letter directory (kept, counted); the lines around it arrive.
- A record with an attribute over the collector's max_attribute_bytes goes to the dead
  letter alone; the rest of its batch is stored.
"""

import os
import subprocess
import sys
import time

import common
import harness
import journal


def agent_config(work, name, port, include, extra_source="", extra=""):
    d = work / name
    d.mkdir(exist_ok=True)
    http_port = harness.free_port()
    cfg = d / "agent.yaml"
    cfg.write_text(
        f"agent_id: {name}\n"
        f"data_dir: {d / 'data'}\n"
        "sources:\n"
        "  - type: file\n"
        f"    include: [\"{include}\"]\n"
        "    start_at: beginning\n" + extra_source +
        "batch: {max_records: 100000, max_bytes: 4MiB, linger: 500ms}\n"
        "spool: {max_bytes: 512MiB}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        "  backoff_min: 50ms\n"
        "  backoff_max: 500ms\n"
        f"http: {{listen: 127.0.0.1:{http_port}}}\n" + extra)
    return cfg, http_port


def rows(pg, agent, where="true"):
    return int(pg.scalar(f"SELECT count(*) FROM logs WHERE agent_id = '{agent}' AND ({where})"))


def wait_rows(pg, agent, n, where="true", timeout=90):
    try:
        harness.wait_until(lambda: rows(pg, agent, where) >= n, timeout, interval=0.5, what=f"{n} rows of {agent}")
    except TimeoutError:
        raise AssertionError(f"{agent}: {rows(pg, agent, where)} of {n} rows arrived")
    time.sleep(1)
    assert rows(pg, agent, where) == n, f"{agent}: {rows(pg, agent, where)} rows, expected {n}"


def check_split_batches(pg, work, port, agent_bin, agents):
    """1. Batches of 4 MiB against a 1 MiB frame limit."""
    src = work / "big"
    src.mkdir()
    n = 20_000
    with open(src / "app.log", "w") as f:
        for i in range(n):
            f.write(f"seq={i + 1:08d} {os.urandom(500).hex()}\n")
    cfg, http_port = agent_config(work, "big", port, f"{src}/*.log")
    agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-big")
    agents.append(agent)
    wait_rows(pg, "big", n)
    distinct = int(pg.scalar("SELECT count(DISTINCT substring(body from 'seq=(\\d+)')) FROM logs "
                             "WHERE agent_id = 'big'"))
    assert distinct == n, f"{distinct} distinct lines of {n}"
    split = common.scrape_metric(http_port, "logship_agent_batches_split_total")
    assert split and split > 0, f"no batch was split ({split})"
    print(f"ok: {n} lines in batches of 4 MiB through a 1 MiB frame limit ({split:.0f} batches split)")


def check_line_over_frame(pg, work, port, agent_bin, agents):
    """2. One line larger than any frame: set aside on the agent, its neighbours arrive."""
    src2 = work / "huge"
    src2.mkdir()
    with open(src2 / "app.log", "w") as f:
        f.write("before the huge line\n")
        f.write(os.urandom(1536 << 10).hex() + "\n")  # 3 MiB of hex: ~1.5 MiB compressed
        f.write("after the huge line\n")
    cfg2, http2 = agent_config(work, "huge", port, f"{src2}/*.log",
                               extra_source="    max_line_bytes: 4MiB\n")
    agent2 = harness.Proc([agent_bin, "--config", cfg2], work, name="agent-huge")
    agents.append(agent2)
    wait_rows(pg, "huge", 2)
    dead = list((work / "huge" / "data" / "dead-letter").glob("*.zst"))
    assert len(dead) == 1, f"dead letters: {dead}"
    reason = dead[0].with_suffix(".reason").read_text()
    assert "fits no frame" in reason, reason
    assert common.scrape_metric(http2, "logship_agent_records_dead_lettered_total") == 1
    print(f"ok: a 3 MiB line set aside in {dead[0].name} ({reason.strip()}); its neighbours arrived")


def check_attribute_over_limit(pg, work, port, agent_bin, agents, jdir, now_us):
    """3. An attribute over max_attribute_bytes: that record to logs_dead_letter, not its batch."""
    entries = []
    for seq in range(1, 11):
        cmdline = ("x" * 3000) if seq == 5 else "app --serve"
        entries.append(b"".join([
            journal._field("__REALTIME_TIMESTAMP", str(now_us + seq).encode()),
            journal._field("__MONOTONIC_TIMESTAMP", str(seq).encode()),
            journal._field("_BOOT_ID", journal.BOOT_ID.encode()),
            journal._field("_SYSTEMD_UNIT", b"web.service"),
            journal._field("_CMDLINE", cmdline.encode()),
            journal._field("MESSAGE", f"entry {seq}".encode()),
            b"\n"]))
    subprocess.run([journal.JOURNAL_REMOTE, f"--output={jdir / 'a.journal'}", "-"],
                   input=b"".join(entries), check=True, capture_output=True)
    cfg3 = work / "attr.yaml"
    cfg3.write_text(
        "agent_id: attr\n"
        f"data_dir: {work / 'attr-data'}\n"
        "sources:\n"
        f"  - type: journald\n    directory: {jdir}\n    start_at: beginning\n"
        "batch: {linger: 50ms}\n"
        f"collector: {{endpoints: [\"127.0.0.1:{port}\"], backoff_min: 50ms, backoff_max: 500ms}}\n"
        "http: {listen: \"\"}\n")
    agent3 = harness.Proc([agent_bin, "--config", cfg3], work, name="agent-attr")
    agents.append(agent3)
    wait_rows(pg, "attr", 9)
    assert rows(pg, "attr", "body = 'entry 5'") == 0
    dl = pg.query("SELECT sink, row_text FROM logs_dead_letter WHERE agent_id = 'attr'")
    assert len(dl) == 1 and dl[0][0] == "ingest" and '"body":"entry 5"' in dl[0][1], dl
    print("ok: the record with a 3 KB attribute went to logs_dead_letter; the other 9 were stored")


def check_huge_journal_message(pg, jdir, now_us):
    """4. A journal MESSAGE of 2.5 MiB: flagged parts of max_line_bytes (1 MiB), each its own
    record; nothing over the frame limit, nothing lost. The "attr" agent of check 3 reads it."""
    big = os.urandom(1280 << 10).hex()
    entry = b"".join([
        journal._field("__REALTIME_TIMESTAMP", str(now_us + 100).encode()),
        journal._field("__MONOTONIC_TIMESTAMP", b"100"),
        journal._field("_BOOT_ID", journal.BOOT_ID.encode()),
        journal._field("_SYSTEMD_UNIT", b"big.service"),
        journal._field("MESSAGE", big.encode()),
        b"\n"])
    subprocess.run([journal.JOURNAL_REMOTE, f"--output={jdir / 'b.journal'}", "-"], input=entry,
                   check=True, capture_output=True)
    harness.wait_until(lambda: rows(pg, "attr", "source = 'big.service'") >= 3, 60, what="3 parts")
    time.sleep(1)
    parts = pg.query("SELECT length(body), attributes->>'logship.partial' FROM logs "
                     "WHERE agent_id = 'attr' AND source = 'big.service' ORDER BY length(body) DESC, 2")
    assert [int(p[0]) for p in parts] == [1 << 20, 1 << 20, len(big) - (2 << 20)], parts
    assert sorted(p[1] for p in parts) == ["last", "true", "true"], parts
    joined = pg.scalar("SELECT string_agg(body, '' ORDER BY observed_ts, length(body) DESC) FROM logs "
                       "WHERE agent_id = 'attr' AND source = 'big.service'")
    assert len(joined) == len(big), (len(joined), len(big))
    print("ok: a 2.5 MiB journal MESSAGE arrived as 3 flagged parts under a 1 MiB frame limit")


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-limits")
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector = common.start_collector(collector_bin, common.write_collector_config(
            work, port, pg, extra="limits: {max_frame_bytes: 1MiB, max_uncompressed_bytes: 2MiB, "
                                  "max_attribute_bytes: 1KiB}\nhttp: {listen: \"\"}\n"), work)
        common.wait_healthy(collector_bin, port)
        agents = []
        try:
            check_split_batches(pg, work, port, agent_bin, agents)
            check_line_over_frame(pg, work, port, agent_bin, agents)
            jdir = work / "journal"
            jdir.mkdir()
            now_us = int(time.time() * 1_000_000)
            check_attribute_over_limit(pg, work, port, agent_bin, agents, jdir, now_us)
            check_huge_journal_message(pg, jdir, now_us)
            for a in agents:
                assert a.alive(), f"{a.name} died"
                assert a.terminate() == 0
        except BaseException:
            for a in agents:
                print(f"--- {a.name} ---\n{a.log_tail(30)}", file=sys.stderr)
            print(f"--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
            raise
    print("limits: 4 passed, 0 failed")

if __name__ == "__main__":
    main()
