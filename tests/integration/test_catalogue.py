#!/usr/bin/env python3
"""The catalogue of hostile inputs (issue 12): ONE table of named bad inputs, each with the
outcome logship promises, and a check of that outcome against the real binaries.

Every outcome is one of: a clear error naming the input and the fix (message and exit code
checked), or the input kept (escaped, split, dead-lettered) and counted (rows in PostgreSQL,
metrics) - never a crash, never silent loss, never unbounded memory (peak RSS checked).

One PostgreSQL server and one collector serve every case; each agent case runs its own agent
(agent_id = the case's slug). `--markdown` prints the table for README's "What happens
when..." section; every run first checks that README holds each row exactly (`--check-readme`
does only that). A new case: a function under @case(name, given, outcome) in the module of
catalogue/ for its kind of input, then its row from `--markdown` into README.
LOGSHIP_CASE=slug[,slug] runs some cases (and skips the README check).
Root (CI) is needed for the disk-full and read-only cases (tmpfs mounts) and to make a file
unreadable to the agent (its DAC override capability is dropped with setpriv); without root
the first is skipped and the others use file modes.
"""

import os
import pathlib
import sys
import time

import harness
import test_collector
from catalogue import CASES, REPO, Env, slug


def markdown():
    rows = ["| bad input | what it is | what happens |", "|---|---|---|"]
    for c in CASES:
        rows.append(f"| {c.name} | {c.given} | {c.outcome} |")
    return "\n".join(rows)


def check_readme():
    text = (REPO / "README.md").read_text()
    missing = [c.name for c in CASES if f"| {c.name} |" not in text]
    assert not missing, f"README.md's \"What happens when...\" table lacks: {missing} (print it with --markdown)"
    stale = [c.name for c in CASES if f"| {c.name} | {c.given} | {c.outcome} |" not in text]
    assert not stale, f"README.md's rows differ from the catalogue for: {stale} (print the table with --markdown)"
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    assert len(CASES) >= 25, len(CASES)


def main():
    if "--markdown" in sys.argv:
        print(markdown())
        return
    only = os.environ.get("LOGSHIP_CASE")  # a name or slug; comma-separated (skips the README check)
    if not only:
        check_readme()
    if "--check-readme" in sys.argv:
        print(f"catalogue: README's table matches all {len(CASES)} cases")
        return
    agent_bin, collector_bin = harness.binaries_from_argv()
    test_collector.stubs()
    harness._workdirs.append(pathlib.Path(sys.path[0]))  # the generated stubs: removed at exit
    work = harness.make_workdir("logship-catalogue")
    t_start = time.monotonic()
    passed, skipped = 0, 0
    with harness.PostgresServer() as pg:
        env = Env(agent_bin, collector_bin, pg, work)
        try:
            for c in CASES:
                if only and not {c.name, slug(c.name)} & set(only.split(",")):
                    continue
                t0 = time.monotonic()
                try:
                    result = c.fn(env)
                    agent, note = result if isinstance(result, tuple) else (None, result)
                    if agent is not None:
                        assert agent.alive(), "the agent died:\n" + agent.log_tail(20)
                        assert agent.terminate() == 0, "the agent did not stop cleanly"
                    assert env.collector.alive(), "the collector died"
                except BaseException:
                    print(f"FAILED: {c.name}\n--- collector ---\n{env.collector.log_tail(20)}", file=sys.stderr)
                    for p in harness._procs[-2:]:
                        print(f"--- {p.name} ---\n{p.log_tail(20)}", file=sys.stderr)
                    raise
                skipped += note.startswith("SKIPPED")
                passed += not note.startswith("SKIPPED")
                print(f"ok {c.name} ({time.monotonic() - t0:.1f}s): {note}", flush=True)
            assert env.collector.terminate() == 0
        finally:
            env.cleanup()
    print(f"catalogue: {passed} passed, {skipped} skipped, 0 failed in {time.monotonic() - t_start:.0f}s")


if __name__ == "__main__":
    main()
