"""Catalogue: the files the agent reads."""

import glob
import os
import time

import harness
import test_file_source
from catalogue.registry import ROOT, case, slug


@case("glob matching nothing", "`include: [\"/var/log/app/*.log\"]` with no such file yet",
      "a warning `include pattern ... matches no file yet`; the agent keeps running and ships a matching file as soon as it appears")
def glob_nothing(env):
    d = env.work / "glob-nothing"
    d.mkdir()
    agent = env.start_agent("glob-nothing", env.files_source(d))
    harness.wait_until(lambda: "matches no file yet" in agent.log_tail(50), 10, what="the warning")
    assert f"include pattern {d}/*.log matches no file yet" in agent.log_tail(50)
    (d / "late.log").write_text(test_file_source.line(1))
    env.wait_rows("glob-nothing", 1)
    return agent, "warned, then the late file's line arrived"


@case("unreadable file", "a matching file with mode 0000 (the agent may not read it)",
      "a warning, once: `cannot open PATH: open PATH: Permission denied; retrying at every poll (grant the agent's user read access ...)`; other files ship; its lines ship once it is readable")
def unreadable_file(env):
    d = env.work / "unreadable"
    d.mkdir()
    (d / "ok.log").write_text(test_file_source.line(1))
    (d / "secret.log").write_text(test_file_source.line(2))
    os.chmod(d / "secret.log", 0)
    # As root the agent would read it anyway: drop the capabilities that bypass file modes.
    wrap = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"] if ROOT else []
    agent = env.start_agent("unreadable", env.files_source(d), wrap=wrap)
    env.wait_rows("unreadable", 1)
    time.sleep(1.0)  # several polls
    log = agent.log_tail(100)
    assert log.count(f"cannot open {d}/secret.log") == 1, log
    assert "Permission denied" in log and "grant the agent's user read access" in log, log
    os.chmod(d / "secret.log", 0o644)
    env.exact_numbers("unreadable", 2)
    return agent, "warned once; the readable file shipped; the other shipped after chmod"


@case("directory where a file is expected", "a directory `old.log/` matched by `*.log`",
      "skipped with one warning `skipping PATH: a directory, only files are tailed`; the files beside it ship")
def directory_as_file(env):
    d = env.work / "dir-as-file"
    d.mkdir()
    (d / "old.log").mkdir()
    (d / "old.log" / "inner.log").write_text(test_file_source.line(99))
    (d / "app.log").write_text(test_file_source.line(1))
    agent = env.start_agent("dir-as-file", env.files_source(d))
    env.exact_numbers("dir-as-file", 1)
    time.sleep(0.6)
    assert agent.log_tail(100).count(f"skipping {d}/old.log: a directory, only files are tailed") == 1
    return agent, "skipped and said once; app.log shipped"


@case("symlink loop", "`a.log -> b.log -> a.log`, and a directory link back to its parent under `**`",
      "the looping name is skipped with one warning `skipping PATH: Too many levels of symbolic links`; `**` does not follow directory links; the real file ships once")
def symlink_loop(env):
    d = env.work / "symlinks"
    (d / "sub").mkdir(parents=True)
    os.symlink(d / "b.log", d / "a.log")
    os.symlink(d / "a.log", d / "b.log")
    os.symlink(d, d / "sub" / "up")
    (d / "sub" / "real.log").write_text(test_file_source.line(1))
    agent = env.start_agent("symlinks", f"    include: [\"{d}/*.log\", \"{d}/**/*.log\"]\n    start_at: beginning\n"
                                        "    poll_interval: 250ms\n")
    env.exact_numbers("symlinks", 1)
    time.sleep(0.6)
    log = agent.log_tail(100)
    assert log.count(f"skipping {d}/a.log: Too many levels of symbolic links") == 1, log
    return agent, "skipped with one warning each; real.log shipped once"


@case("100 MiB line", "one line of 100 MiB without a newline until its end (max_line_bytes 1MiB)",
      "split into 100 records flagged `logship.partial` (`true`, the last `last`), every byte kept; agent and collector memory stay bounded")
def huge_line(env):
    d = env.work / "huge"
    d.mkdir()
    chunk = ("0123456789abcdef" * 64) * 1024  # 1 MiB
    with open(d / "app.log", "w") as f:
        for _ in range(100):
            f.write(chunk)
        f.write("\n" + test_file_source.line(2))
    collector_before = env.collector.rss_peak_kib()
    agent = env.start_agent("huge", env.files_source(d) + "    max_line_bytes: 1MiB\n")
    env.wait_rows("huge", 101, timeout=120)
    n, total, partial, last = env.pg.query(
        "SELECT count(*), sum(length(body)), count(*) FILTER (WHERE attributes->>'logship.partial' = 'true'), "
        "count(*) FILTER (WHERE attributes->>'logship.partial' = 'last') FROM logs "
        "WHERE agent_id = 'huge' AND body NOT LIKE 'seq=%'")[0]
    assert (int(n), int(total), int(partial), int(last)) == (100, 100 << 20, 99, 1), (n, total, partial, last)
    rss = agent.rss_peak_kib() / 1024
    grew = (env.collector.rss_peak_kib() - collector_before) / 1024
    assert rss < 96, f"agent peak RSS {rss:.0f} MiB for a 100 MiB line"
    assert grew < 256, f"collector peak RSS grew by {grew:.0f} MiB"
    return agent, f"100 parts, {100 << 20} bytes kept; agent peak RSS {rss:.0f} MiB, collector +{grew:.0f} MiB"


def one_line_case(env, name, data, where, rows=1):
    d = env.work / slug(name)
    d.mkdir()
    (d / "app.log").write_bytes(data)
    agent = env.start_agent(slug(name), env.files_source(d))
    env.wait_rows(slug(name), rows)
    got = env.rows(slug(name), where)
    assert got == rows, f"{name}: {got} of {rows} rows match {where}: " + \
        repr(env.pg.query(f"SELECT body, attributes FROM logs WHERE agent_id = '{slug(name)}'"))
    return agent


@case("binary garbage with NULs", "bytes of an ELF header, NULs and control bytes, newline-terminated",
      "one record; NUL (which PostgreSQL text cannot hold) and invalid bytes escaped as `\\xNN`, flagged `logship.escaped`")
def binary_garbage(env):
    agent = one_line_case(env, "binary garbage with NULs", b"\x7fELF\x02\x01\x01\x00\x00\x00\x03\x00>\x00\xff\x80 end\n",
                          "strpos(body, 'ELF') > 0 AND strpos(body, '\\x00\\x00\\x00' || chr(3) || '\\x00>') > 0 "
                          "AND right(body, 12) = '\\xff\\x80 end' AND attributes->>'logship.escaped' = 'true'")
    return agent, "kept, escaped, flagged"


@case("invalid UTF-8", "`caf\\xc3 \\xff\\xfe` and an encoded surrogate `\\xed\\xa0\\x80`",
      "kept byte for byte: invalid sequences escaped as `\\xNN`, valid text untouched, flagged `logship.escaped`")
def invalid_utf8(env):
    agent = one_line_case(env, "invalid UTF-8", "ok é ".encode() + b"caf\xc3 \xff\xfe \xed\xa0\x80 end\n",
                          "body = 'ok é caf\\xc3 \\xff\\xfe \\xed\\xa0\\x80 end' AND attributes->>'logship.escaped' = 'true'")
    return agent, "kept, escaped, flagged"


@case("CRLF", "Windows line endings `\\r\\n`",
      "one record per line, split at `\\n`; the `\\r` is kept as part of the body (nothing is silently changed)")
def crlf(env):
    agent = one_line_case(env, "CRLF", b"first\r\nsecond\r\n", "body LIKE '%' || chr(13)", rows=2)
    return agent, "two records, CR kept"


@case("hostile container log lines", "a `format: auto` file with a Docker line of 1,000,000 nested `[`, a CRI line dated "
      "year 2200, 3,000 `P` pieces never ended by `F`, a line neither format, and an unknown stream",
      "every line ships: the undecodable ones whole with `logship.format_error`, the far date clamped, the pieces "
      "joined and shipped flagged `logship.partial` when the other stream interrupts them; the agent keeps running")
def hostile_container_lines(env):
    d = env.work / "hostile-container"
    d.mkdir()
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    pieces = "".join(f"{now}.000Z stdout P {i:07d}{'x' * 92}\n" for i in range(3000))  # 300 KB, no F
    (d / "c.log").write_text('{"log":' + "[" * 1_000_000 + "\n" +
                             "2200-01-01T00:00:00Z stdout F from the far future\n" +
                             "neither CRI nor Docker\n" +
                             f"{now}Z stdin F unknown stream\n" + pieces +
                             f"{now}Z stderr F after the pieces\n")
    agent = env.start_agent("hostile-container", env.files_source(d) + "    format: auto\n    max_line_bytes: 2MiB\n")
    env.wait_rows("hostile-container", 3 + 1 + 1 + 1)  # 3 undecodable, the far date, the pieces, the last
    bad = env.rows("hostile-container", "attributes ? 'logship.format_error'")
    assert bad == 3, f"{bad} rows with logship.format_error"
    parts = env.rows("hostile-container", "attributes->>'logship.partial' = 'true'")
    assert parts == 1, f"{parts} partial parts"
    far = env.pg.scalar("SELECT extract(year from ts)::int FROM logs WHERE agent_id = 'hostile-container' "
                        "AND body = 'from the far future'")
    assert int(far) < 2200, far
    assert agent.alive()
    return agent, "6 records: 3 with the reason, the far date clamped, 300 KB of pieces in one flagged record"


@case("file truncated while being read", "copytruncate of a file being written at 1,000 lines/s",
      "the shrink is noticed (`PATH was truncated; reading it again from the start`); every line written is shipped exactly once")
def truncated(env):
    d = env.work / "truncated"
    d.mkdir()
    w = test_file_source.RotatingWriter(d / "app.log", 1000)
    agent = env.start_agent("truncated", env.files_source(d))
    w.start()
    time.sleep(1.0)
    with w.lock:
        time.sleep(0.3)  # copytruncate loses what the reader has not read yet: let it catch up
        os.truncate(d / "app.log", 0)
    time.sleep(1.0)
    n = w.finish()
    env.exact_numbers("truncated", n)
    assert f"{d}/app.log was truncated; reading it again from the start" in agent.log_tail(100)
    return agent, f"{n} lines, each once"


@case("clock jumping backwards", "the agent's wall clock stepped back 2 days while running (libfaketime; monotonic clock untouched)",
      "lines read after the step carry the earlier observed time and are stored; nothing lost or doubled (ids do not depend on time)")
def clock_backwards(env):
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert libs, "libfaketime missing: scripts/install-deps.sh installs the faketime package"
    lib = libs[0]
    d = env.work / "clock"
    d.mkdir()
    spec = env.work / "clock.faketime"
    spec.write_text("+0\n")
    fake = {**os.environ, "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": str(spec), "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    (d / "app.log").write_text("".join(test_file_source.line(i) for i in range(1, 101)))
    agent = env.start_agent("clock", env.files_source(d), env=fake)
    env.exact_numbers("clock", 100)
    spec.write_text("-2d\n")
    time.sleep(0.3)
    with open(d / "app.log", "a") as f:
        f.write("".join(test_file_source.line(i) for i in range(101, 201)))
    env.exact_numbers("clock", 200)
    before, after = env.pg.query(
        "SELECT count(*) FILTER (WHERE observed_ts > now() - interval '1 hour'), "
        "count(*) FILTER (WHERE observed_ts < now() - interval '47 hours') FROM logs WHERE agent_id = 'clock'")[0]
    assert (before, after) == ("100", "100"), (before, after)
    return agent, "100 rows observed now, 100 two days earlier; 200 distinct"
