#!/usr/bin/env python3
"""The shipped defaults against the shapes real hosts have.

Every agent here runs with `start_at` left at its default (`end`, as conf/agent.yaml ships
it) and the lines are the awkward kind: identical lines, constant header lines, CRLF,
unterminated last lines, multi-line events. Counts are exact in PostgreSQL. Each scenario
has its own agent (rows told apart by agent_id); one collector serves them all.

Run one scenario: LOGSHIP_SCENARIO=<name> test_defaults.py --bin-dir build
"""

import os
import random
import shutil
import signal
import sys
import time

import common
import harness
import journal

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


class Env:
    def __init__(self, agent_bin, pg, work, port):
        self.agent_bin, self.pg, self.work, self.port = agent_bin, pg, work, port

    def config(self, name, sources, agent_id=None):
        """agent.yaml for agent `name`: `sources` is the YAML list under `sources:`."""
        d = self.work / name
        d.mkdir(exist_ok=True)
        cfg = d / "agent.yaml"
        cfg.write_text(
            f"agent_id: {agent_id or name}\n"
            f"data_dir: {d / 'data'}\n"
            "sources:\n" + sources +
            "batch: {linger: 50ms}\n"
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{self.port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 500ms\n"
            "http: {listen: \"\"}\n")
        return cfg

    def start(self, name, cfg):
        self.starts = getattr(self, "starts", 0) + 1  # a log of its own: "started" must be this run's
        proc = harness.Proc([self.agent_bin, "--config", cfg], self.work, name=f"agent-{name}-{self.starts}")
        # Started: it logs each file it positions, or that a pattern matches nothing yet.
        harness.wait_until(lambda: "started" in proc.log_tail(200), 20, what=f"agent {name} started")
        return proc

    def rows(self, name, where="true"):
        return int(self.pg.scalar(f"SELECT count(*) FROM logs WHERE agent_id = '{name}' AND ({where})"))

    def expect(self, name, n, where="true", timeout=30):
        """Exactly n rows: waits for them, then makes sure no more come."""
        try:
            harness.wait_until(lambda: self.rows(name, where) >= n, timeout, interval=0.2,
                               what=f"{n} rows of {name}")
        except TimeoutError:
            raise AssertionError(f"{name}: {self.rows(name, where)} of {n} rows arrived")
        time.sleep(1.0)
        got = self.rows(name, where)
        assert got == n, f"{name}: {got} rows, expected {n}"


def append(path, text, mode="a"):
    with open(path, mode) as f:
        f.write(text)


@scenario
def empty_file_at_first_start(env):
    """A file empty when the agent first starts, then 100 lines (all identical): 100 rows."""
    d = env.work / "empty-src"
    d.mkdir()
    (d / "app.log").write_text("")
    cfg = env.config("empty", f"  - type: file\n    include: [\"{d}/*.log\"]\n")
    agent = env.start("empty", cfg)
    for _ in range(10):  # in bursts, as an application writes
        append(d / "app.log", "GET /health 200\n" * 10)
        time.sleep(0.02)
    env.expect("empty", 100)
    return agent, "100 identical lines into a file that was empty at the first start"


@scenario
def history_skipped_once(env):
    """start_at: end skips what files hold at the very first start, and only then: the line being
    written at that moment ships whole, and a restart ships no history either."""
    d = env.work / "history-src"
    d.mkdir()
    (d / "app.log").write_text("old line\n" * 50 + "written at the first sta")
    cfg = env.config("history", f"  - type: file\n    include: [\"{d}/*.log\"]\n")
    agent = env.start("history", cfg)
    time.sleep(0.5)
    append(d / "app.log", "rt\n" + "new line\n" * 20)
    env.expect("history", 21)
    assert env.rows("history", "body = 'written at the first start'") == 1
    assert agent.terminate() == 0
    append(d / "app.log", "after restart\n")
    agent = env.start("history", cfg)
    env.expect("history", 22)
    assert env.rows("history", "body = 'old line'") == 0
    return agent, "50 history lines skipped; the line mid-write shipped whole; nothing re-shipped after a restart"


@scenario
def crash_right_after_first_start(env):
    """kill -9 just after the first start: the history skipped is remembered, not shipped."""
    d = env.work / "crash-src"
    d.mkdir()
    (d / "app.log").write_text("history\n" * 30)
    cfg = env.config("crash", f"  - type: file\n    include: [\"{d}/*.log\"]\n")
    agent = env.start("crash", cfg)
    agent.kill9()
    append(d / "app.log", "new\n" * 5)
    agent = env.start("crash", cfg)
    env.expect("crash", 5)
    return agent, "history stays skipped across a kill -9 at the first start"


@scenario
def rotated_while_down(env):
    """Stop; lines to app.log; rotate it away; 50 lines into a new app.log; start: all arrive."""
    d = env.work / "rot-src"
    d.mkdir()
    (d / "app.log").write_text("")
    cfg = env.config("rot", f"  - type: file\n    include: [\"{d}/*.log\"]\n    rotate_wait: 500ms\n")
    agent = env.start("rot", cfg)
    append(d / "app.log", "before stop\n" * 10)
    env.expect("rot", 10)
    assert agent.terminate() == 0
    append(d / "app.log", "while down, old file\n" * 5)
    os.rename(d / "app.log", d / "app.log.1")
    append(d / "app.log", "while down, new file\n" * 50)
    (d / "other.log").write_text("a new file while down\n" * 7)
    agent = env.start("rot", cfg)
    env.expect("rot", 10 + 5 + 50 + 7)
    assert env.rows("rot", "body = 'while down, old file'") == 5
    return agent, "the rotated file finished by inode, the new one and a new file read from their start"


@scenario
def empty_file_rotated_while_down(env):
    """An empty file at the first start; kill -9 before a line is written; lines, then a rotation,
    while the agent is down: the file had no identity yet, its inode alone must be remembered."""
    d = env.work / "erot-src"
    d.mkdir()
    (d / "cron.log").write_text("")
    (d / "job.log").write_text("half a first li")
    cfg = env.config("erot", f"  - type: file\n    include: [\"{d}/*.log\"]\n")
    agent = env.start("erot", cfg)
    agent.kill9()
    append(d / "cron.log", "CRON[1]: session opened\r\n" * 2)
    append(d / "job.log", "ne\n" + "job ran\n" * 3)
    os.rename(d / "cron.log", d / "cron.log.1")
    os.rename(d / "job.log", d / "job.log.1")
    append(d / "cron.log", "CRON[2]: session opened\n")
    agent = env.start("erot", cfg)
    env.expect("erot", 2 + 4 + 1)
    assert env.rows("erot", "body = 'half a first line'") == 1
    return agent, "lines written to never-identified files, rotated while the agent was down, all arrive"


@scenario
def new_file_rotated_while_spool_full(env):
    """A file appears while the spool is full (collector away, sources paused); the agent stops
    before reading it, and it is rotated while the agent is down: its lines still arrive."""
    d = env.work / "fullrot-src"
    d.mkdir()
    (d / "app.log").write_text("")
    src = f"  - type: file\n    include: [\"{d}/*.log\"]\n"
    cfg = env.config("fullrot", src)
    live = cfg.read_text() + "spool: {max_bytes: 256KiB}\n"
    cfg.write_text(live.replace(f"127.0.0.1:{env.port}", f"127.0.0.1:{harness.free_port()}"))
    agent = env.start("fullrot", cfg)
    rng = random.Random(7)
    append(d / "app.log", "".join(f"{i} {rng.randbytes(40).hex()}\n" for i in range(10000)))
    harness.wait_until(lambda: "pausing sources" in agent.log_tail(50), 20, what="a full spool")
    append(d / "new.log", "written while the spool was full\n" * 3)
    harness.wait_until(lambda: "new.log from its start" in agent.log_tail(50), 10, what="new.log seen")
    assert agent.terminate() == 0
    os.rename(d / "new.log", d / "new.log.1")
    append(d / "new.log", "after the rotation\n")
    cfg.write_text(live)
    agent = env.start("fullrot", cfg)
    env.expect("fullrot", 10000 + 3 + 1, timeout=60)
    return agent, "a file first seen while sources were paused survives a stop and a rotation while down"


@scenario
def copytruncate_constant_header(env):
    """copytruncate of a file whose first line never changes: the new content is a new
    generation (new ids), so 500 identical lines under the same header all arrive."""
    d = env.work / "w3c-src"
    d.mkdir()
    cfg = env.config("w3c", f"  - type: file\n    include: [\"{d}/*.log\"]\n    poll_interval: 200ms\n")
    agent = env.start("w3c", cfg)
    header = "#Fields: date time cs-method cs-uri-stem sc-status\r\n"
    hit = "2026-11-29 10:00:00 GET /index.html 200\r\n"
    append(d / "u_ex.log", header + hit * 100)
    env.expect("w3c", 101)
    shutil.copy(d / "u_ex.log", d / "u_ex.log.1")
    os.truncate(d / "u_ex.log", 0)
    time.sleep(0.5)
    append(d / "u_ex.log", header + hit * 500)
    env.expect("w3c", 602)
    assert env.rows("w3c", f"body = '{header[:-1]}'") == 2  # CR kept, one header per generation
    # The same again while the agent is down, regrowing past the old size. (Content that is
    # byte for byte what was read before, up to the old read position, cannot be told from it:
    # README; real lines carry times.)
    assert agent.terminate() == 0
    shutil.copy(d / "u_ex.log", d / "u_ex.log.2")
    os.truncate(d / "u_ex.log", 0)
    append(d / "u_ex.log", header + "".join(f"2026-11-29 11:{i // 60:02d}:{i % 60:02d} GET /index.html 200\r\n"
                                            for i in range(700)))
    agent = env.start("w3c", cfg)
    env.expect("w3c", 602 + 701)
    return agent, "2 truncations (one while down, regrown past the old offset) under a constant header"


@scenario
def pending_lines_survive_truncate_and_release(env):
    """A pending multi-line event survives a truncation, and a rotated file's unterminated
    last line ships when the file is released."""
    d = env.work / "pend-src"
    d.mkdir()
    (d / "app.log").write_text("")
    cfg = env.config("pend", f"  - type: file\n    include: [\"{d}/*.log\"]\n    rotate_wait: 300ms\n"
                             "    multiline: {start_pattern: '^\\d{4}-', timeout: 30s}\n")
    agent = env.start("pend", cfg)
    append(d / "app.log", "2026-11-29 first\n2026-11-29 boom\n  at frame 1\n  at frame 2\n")
    env.expect("pend", 1)
    os.truncate(d / "app.log", 0)  # the "boom" event (3 lines) is still pending
    time.sleep(0.5)
    append(d / "app.log", "2026-11-29 after truncate\n2026-11-29 next\n")
    env.expect("pend", 3)
    assert env.rows("pend", "body = '2026-11-29 boom' || chr(10) || '  at frame 1' || chr(10) || '  at frame 2'") == 1
    append(d / "app.log", "2026-11-29 no newline at the end")
    os.rename(d / "app.log", d / "app.log.1")
    (d / "app.log").write_text("")
    env.expect("pend", 5)
    assert env.rows("pend", "body = '2026-11-29 no newline at the end'") == 1
    return agent, "pending event kept across a truncate; unterminated last line shipped on release"


@scenario
def reload_adds_a_source(env):
    """A source added by SIGHUP reads its files from their start."""
    a = env.work / "reload-a"
    b = env.work / "reload-b"
    a.mkdir()
    b.mkdir()
    (a / "a.log").write_text("")
    src_a = f"  - type: file\n    name: a\n    include: [\"{a}/*.log\"]\n"
    cfg = env.config("reload", src_a)
    agent = env.start("reload", cfg)
    append(a / "a.log", "from a\n" * 3)
    env.expect("reload", 3)
    (b / "b.log").write_text("from b, written before the reload\n" * 40)
    env.config("reload", src_a + f"  - type: file\n    name: b\n    include: [\"{b}/*.log\"]\n")
    os.kill(agent.pid, signal.SIGHUP)
    env.expect("reload", 43)
    return agent, "40 lines of a file added by a reload"


@scenario
def host_renamed_with_a_full_spool(env):
    """agent_id changes while batches wait in the spool (collector away): none is lost."""
    d = env.work / "rename-src"
    d.mkdir()
    (d / "app.log").write_text("")
    src = f"  - type: file\n    include: [\"{d}/*.log\"]\n"
    cfg = env.config("rename", src, agent_id="old-name")
    dead = env.config("rename", src, agent_id="old-name").read_text().replace(
        f"127.0.0.1:{env.port}", f"127.0.0.1:{harness.free_port()}")
    cfg.write_text(dead)  # nobody listens there: batches stay spooled
    agent = env.start("rename", cfg)
    append(d / "app.log", "spooled under the old name\n" * 1000)
    time.sleep(1.5)
    assert agent.terminate() == 0
    env.config("rename", src, agent_id="new-name")
    agent = env.start("rename", cfg)
    harness.wait_until(lambda: int(env.pg.scalar("SELECT count(*) FROM logs WHERE body = 'spooled under the old name'")) >= 1000,
                       30, what="1,000 spooled lines after the rename")
    time.sleep(1)
    assert int(env.pg.scalar("SELECT count(*) FROM logs WHERE body = 'spooled under the old name'")) == 1000
    assert not (env.work / "rename" / "data" / "dead-letter").exists(), "batches were dead-lettered"
    return agent, "1,000 spooled lines arrive after agent_id changed"


@scenario
def signals_while_starting_or_reloading(env):
    """SIGTERM or SIGHUP at any moment, even while the agent starts or reloads: a clean stop
    (exit 0), never the signal's default action, never a lost signal. (From the first
    instruction of the program on: the dynamic loader's own few milliseconds before it are
    any program's.)"""
    d = env.work / "sig-src"
    d.mkdir()
    cfg = env.config("sig", f"  - type: file\n    include: [\"{d}/*.log\"]\n")

    def blocking(pid):  # the program runs: SIGTERM is in its blocked mask
        try:
            with open(f"/proc/{pid}/status") as f:
                mask = next(int(l.split()[1], 16) for l in f if l.startswith("SigBlk:"))
            return mask & (1 << (signal.SIGTERM - 1))
        except (OSError, StopIteration):
            return False
    codes = []
    for delay in (0, 0.001, 0.003, 0.01, 0.03, 0.1):
        proc = harness.Proc([env.agent_bin, "--config", cfg], env.work, name="agent-sig")
        harness.wait_until(lambda: blocking(proc.pid), 5, interval=0.0005, what="the program running")
        time.sleep(delay)
        proc.popen.send_signal(signal.SIGTERM)
        codes.append(proc.popen.wait(15))
    for delay in (0.005, 0.05):  # a reload, then a stop while it reloads
        proc = harness.Proc([env.agent_bin, "--config", cfg], env.work, name="agent-sig")
        time.sleep(0.3)
        proc.popen.send_signal(signal.SIGHUP)
        time.sleep(delay)
        proc.popen.send_signal(signal.SIGTERM)
        codes.append(proc.popen.wait(15))
    assert codes == [0] * len(codes), codes
    proc = harness.Proc([env.agent_bin, "--config", cfg], env.work, name="agent-sig-last")
    harness.wait_until(lambda: "started" in proc.log_tail(20), 20, what="started")
    return proc, f"{len(codes)} stops from 0 to 100 ms after the program began, and during reloads: all exit 0"


@scenario
def state_does_not_only_grow(env):
    """Files come and go under a ** pattern: positions and inotify watches go with them."""
    d = env.work / "churn-src"
    d.mkdir()
    http_port = harness.free_port()
    cfg = env.config("churn", f"  - type: file\n    include: [\"{d}/**/*.log\"]\n    rotate_wait: 0s\n"
                              "    poll_interval: 100ms\n")
    cfg.write_text(cfg.read_text().replace('http: {listen: ""}', f"http: {{listen: 127.0.0.1:{http_port}}}"))
    agent = env.start("churn", cfg)
    for i in range(40):
        (d / f"dir{i}").mkdir()
        (d / f"dir{i}" / "app.log").write_text(f"line of dir {i}\n")
    env.expect("churn", 40)
    metric = lambda name: common.scrape_metric(http_port, f'{name}{{source="file-0"}}')
    harness.wait_until(lambda: metric("logship_agent_files_open") == 40, 10, what="40 open files")
    watches = metric("logship_agent_directory_watches")
    assert watches >= 41, watches
    import shutil as sh
    for i in range(40):
        sh.rmtree(d / f"dir{i}")
    harness.wait_until(lambda: metric("logship_agent_files_open") == 0, 20, what="files released")
    harness.wait_until(lambda: metric("logship_agent_directory_watches") == 1, 20, what="watches dropped")
    assert agent.terminate() == 0
    import subprocess
    size = (env.work / "churn" / "data" / "checkpoints").stat().st_size
    return env.start("churn", cfg), f"40 directories came and went: 0 files open, 1 watch left, checkpoint file {size} bytes"


@scenario
def journal_unit_quiet_during_last_run(env):
    """journald with a unit filter: the unit logs nothing during the first run; entries
    written while the agent is down arrive on the next start."""
    jdir = env.work / "journal-src"
    jdir.mkdir()
    src = (f"  - type: journald\n    directory: {jdir}\n    units: [web.service]\n    poll_interval: 200ms\n")
    cfg = env.config("quiet", src)
    agent = env.start("quiet", cfg)
    time.sleep(0.5)
    assert agent.terminate() == 0
    now_us = int(time.time() * 1_000_000)
    journal.write_journal(jdir / "a.journal", 1, 100, realtime_base_us=now_us)  # odd: web.service
    agent = env.start("quiet", cfg)
    env.expect("quiet", 50)
    return agent, "50 entries of a unit that was quiet during the last run"


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-defaults")
    only = os.environ.get("LOGSHIP_SCENARIO")
    passed = 0
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector = common.start_collector(
            collector_bin, common.write_collector_config(work, port, pg, extra="http: {listen: \"\"}\n"), work)
        common.wait_healthy(collector_bin, port)
        env = Env(agent_bin, pg, work, port)
        failed = []
        for fn in SCENARIOS:
            if only and fn.__name__ != only:
                continue
            t0 = time.monotonic()
            try:
                agent, note = fn(env)
                assert agent.alive(), f"{fn.__name__}: agent died"
                assert agent.terminate() == 0
            except BaseException as e:
                for p in harness._procs[-2:]:
                    print(f"--- {p.name} ---\n{p.log_tail(30)}", file=sys.stderr)
                print(f"--- collector ---\n{collector.log_tail(20)}", file=sys.stderr)
                print(f"FAILED: {fn.__name__}: {e!r}", file=sys.stderr)
                failed.append(fn.__name__)
                if isinstance(e, KeyboardInterrupt):
                    raise
                continue
            print(f"ok {fn.__name__} ({time.monotonic() - t0:.1f}s): {note}")
            passed += 1
    print(f"defaults: {passed} passed, {len(failed)} failed {failed if failed else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
