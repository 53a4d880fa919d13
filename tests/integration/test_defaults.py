#!/usr/bin/env python3
"""The shipped defaults against the shapes real hosts have.

Every agent here runs with `start_at` left at its default (`end`, as conf/agent.yaml ships
it) and the lines are the awkward kind: identical lines, constant header lines, CRLF,
unterminated last lines, multi-line events. Counts are exact in PostgreSQL. Each scenario
has its own agent (rows told apart by agent_id); one collector serves them all.

Run one scenario: LOGSHIP_SCENARIO=<name> test_defaults.py --bin-dir build
"""

import os
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
        proc = harness.Proc([self.agent_bin, "--config", cfg], self.work, name=f"agent-{name}")
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
