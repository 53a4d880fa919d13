#!/usr/bin/env python3
"""The catalogue of hostile inputs (issue 12): ONE table of named bad inputs, each with the
outcome logship promises, and a check of that outcome against the real binaries.

Every outcome is one of: a clear error naming the input and the fix (message and exit code
checked), or the input kept (escaped, split, dead-lettered) and counted (rows in PostgreSQL,
metrics) - never a crash, never silent loss, never unbounded memory (peak RSS checked).

One PostgreSQL server and one collector serve every case; each agent case runs its own agent
(agent_id = the case's slug). `--markdown` prints the table for README's "What happens
when..." section; every run first checks that README holds each row exactly (`--check-readme`
does only that). A new case: a function under @case(name, given, outcome), then its row from
`--markdown` into README. LOGSHIP_CASE=slug[,slug] runs some cases (and skips the README check).
Root (CI) is needed for the disk-full and read-only cases (tmpfs mounts) and to make a file
unreadable to the agent (its DAC override capability is dropped with setpriv); without root
the first is skipped and the others use file modes.
"""

import glob
import os
import pathlib
import re
import subprocess
import sys
import time

import common
import harness
import test_collector
import test_file_source
import test_spool

REPO = pathlib.Path(__file__).resolve().parents[2]
ROOT = os.geteuid() == 0
CASES = []


class Case:
    def __init__(self, name, given, outcome, fn):
        self.name, self.given, self.outcome, self.fn = name, given, outcome, fn


def case(name, given, outcome):
    def register(fn):
        CASES.append(Case(name, given, outcome, fn))
        return fn
    return register


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]


# ---------------------------------------------------------------------------------------------
# Configuration: --check-config, exit 2 and file:line:col: message on stderr.

AGENT_OK = ("agent_id: cat\n"
            "data_dir: {work}/cfg-data\n"
            "sources:\n"
            "  - type: file\n"
            "    include: [\"/var/log/app/*.log\"]\n"
            "collector:\n"
            "  endpoints: [\"127.0.0.1:4740\"]\n"
            "  max_in_flight: 4\n")
COLLECTOR_OK = "listen: 127.0.0.1:4740\nsinks:\n  postgres:\n    dsn: \"host=127.0.0.1\"\n    table: logs\n"


def check_config(env, binary, text, name, expect_rc, *needles):
    path = env.work / "configs" / name
    path.parent.mkdir(exist_ok=True)
    if text is None:
        path.mkdir(exist_ok=True)
    else:
        path.write_text(text.replace("{work}", str(env.work)))
    r = subprocess.run([str(binary), "--check-config", "--config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == expect_rc, f"{name}: exit {r.returncode}, expected {expect_rc}: {r.stderr}"
    for n in needles:
        n = n.replace("{path}", str(path))
        assert re.search(n, r.stderr), f"{name}: {n!r} not in stderr: {r.stderr!r}"
    return r.stderr.strip().splitlines()[-1]


@case("empty config", "a zero-byte configuration file",
      "exit 2: `FILE:1:1: configuration is empty: write the settings as YAML (see the commented examples ...)`")
def empty_config(env):
    for b, n in ((env.agent_bin, "empty-a.yaml"), (env.collector_bin, "empty-c.yaml")):
        msg = check_config(env, b, "", n, 2, r"{path}:1:1: configuration is empty: write the settings as YAML")
    return msg


@case("whitespace-only config", "a file of blanks, tabs and newlines",
      "exit 2, the same message as an empty file")
def whitespace_config(env):
    for b, n in ((env.agent_bin, "ws-a.yaml"), (env.collector_bin, "ws-c.yaml")):
        msg = check_config(env, b, "  \n\t\n   \n", n, 2, r"{path}:1:1: configuration is empty")
    return msg


@case("unknown key", "a misspelt key (`max_in_fligt`, `tabel`)",
      "exit 2 at the key's line:col, naming the closest known key: `unknown key \"max_in_fligt\" (did you mean \"max_in_flight\"?)`")
def unknown_key(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight", "max_in_fligt"), "unknown-a.yaml", 2,
                 r'{path}:8:3: collector: unknown key "max_in_fligt" \(did you mean "max_in_flight"\?\)')
    return check_config(env, env.collector_bin, COLLECTOR_OK.replace("table:", "tabel:"), "unknown-c.yaml", 2,
                        r'{path}:5:5: sinks.postgres: unknown key "tabel" \(did you mean "table"\?\)')


@case("wrong type", "a word where a number is expected; a list where a single value is",
      "exit 2 at the value: `collector.max_in_flight: expected a whole number, got \"lots\"`")
def wrong_type(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight: 4", "max_in_flight: lots"), "type-a.yaml", 2,
                 r'{path}:8:18: collector.max_in_flight: expected a whole number, got "lots"')
    return check_config(env, env.collector_bin, COLLECTOR_OK.replace("listen: 127.0.0.1:4740", "listen: [a, b]"),
                        "type-c.yaml", 2, r"{path}:1:9: listen: expected a single value")


@case("negative size", "`spool: {max_bytes: -1MiB}`, `max_in_flight: -3`",
      "exit 2: `spool.max_bytes: expected a size such as 512KiB, 16MiB or 1GiB, got \"-1MiB\"`; `must be between 1 and 1024`")
def negative_size(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight: 4", "max_in_flight: -3"), "neg-a.yaml", 2,
                 r"{path}:8:18: collector.max_in_flight: must be between 1 and 1024, got -3")
    return check_config(env, env.agent_bin, AGENT_OK + "spool: {max_bytes: -1MiB}\n", "neg-b.yaml", 2,
                        r'{path}:9:20: spool.max_bytes: expected a size such as 512KiB, 16MiB or 1GiB, got "-1MiB"')


@case("absurd size", "`batch: {max_bytes: 100GiB}`, `limits: {max_frame_bytes: 1TiB}`, `999999PiB`",
      "exit 2 with the allowed range: `batch.max_bytes: must be between 1024 and 33554432 bytes, got 100GiB`")
def absurd_size(env):
    check_config(env, env.collector_bin, COLLECTOR_OK + "limits: {max_frame_bytes: 1TiB}\n", "absurd-c.yaml", 2,
                 r"{path}:6:27: limits.max_frame_bytes: must be between 1024 and 1073741824 bytes, got 1TiB")
    check_config(env, env.agent_bin, AGENT_OK + "spool: {max_bytes: 999999PiB}\n", "absurd-b.yaml", 2,
                 r'{path}:9:20: spool.max_bytes: expected a size')
    return check_config(env, env.agent_bin, AGENT_OK + "batch: {max_bytes: 100GiB}\n", "absurd-a.yaml", 2,
                        r"{path}:9:20: batch.max_bytes: must be between 1024 and 33554432 bytes, got 100GiB")


@case("directory as the config file", "`--config /etc/logship` (a directory)",
      "exit 2: `DIR:1:1: is a directory; --config needs the YAML file itself`")
def config_directory(env):
    check_config(env, env.collector_bin, None, "confdir", 2, r"{path}:1:1: is a directory; --config needs the YAML file")
    return check_config(env, env.agent_bin, None, "confdir", 2, r"{path}:1:1: is a directory; --config needs the YAML file")


@case("directory as the token file", "`collector.token_file` names a directory",
      "the agent exits 1 at start: `cannot read collector.token_file DIR: read DIR: Is a directory`")
def token_directory(env):
    d = env.work / "token-dir"
    d.mkdir()
    agent = env.start_agent("token-dir", env.files_source(env.work / "token-dir-logs"),
                            extra=f"  token_file: {d}\n", collector_extra=True)
    rc = agent.popen.wait(15)
    assert rc == 1, f"exit {rc}"
    assert f"cannot read collector.token_file {d}: read {d}: Is a directory" in agent.log_tail(20), agent.log_tail(20)
    return f"exit 1: cannot read collector.token_file {d.name}: ... Is a directory"


# ---------------------------------------------------------------------------------------------
# Files the agent reads.

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


# ---------------------------------------------------------------------------------------------
# The agent's spool and data directory.

@case("spool frame with a wrong CRC", "one flipped byte inside a spooled frame, found when the agent restarts",
      "the damaged frame is skipped and counted (`logship_agent_spool_corrupt_frames_total` 1, `skipped 1 corrupt frame(s)` with the sequence range; its records cannot be recovered); every other frame ships")
def spool_crc(env):
    d = env.work / "spool-crc"
    d.mkdir()
    away = harness.free_port()  # no collector yet: everything stays spooled
    common.LineWriter(d / "app.log").write(5000)
    agent = env.start_agent("spool-crc", env.files_source(d), port=away, batch="{max_records: 1000, linger: 50ms}")
    harness.wait_until(lambda: common.scrape_metric(agent.http_port, "logship_agent_records_spooled_total") == 5000,
                       30, what="5,000 records spooled")
    assert agent.terminate() == 0
    frames = [(seg, off, n) for seg in sorted((env.work / "spool-crc" / "data" / "spool").glob("*.seg"))
              for off, n in test_spool.frames_in(seg)]
    seg, off, lost = frames[2]
    with open(seg, "r+b") as f:
        f.seek(off + test_spool.FRAME_HEADER + 50)
        b = f.read(1)
        f.seek(off + test_spool.FRAME_HEADER + 50)
        f.write(bytes([b[0] ^ 0x01]))
    agent = env.start_agent("spool-crc", env.files_source(d), batch="{max_records: 1000, linger: 50ms}")
    env.wait_rows("spool-crc", 5000 - lost)
    assert common.scrape_metric(agent.http_port, "logship_agent_spool_corrupt_frames_total") == 1
    assert "skipped 1 corrupt frame(s)" in agent.log_tail(100), agent.log_tail(30)
    return agent, f"{len(frames)} frames, the damaged one ({lost} records) skipped and counted, {5000 - lost} rows"


@case("disk full", "the data_dir on a 2 MiB tmpfs, the collector away, 40,000 lines to read",
      "`No space left on device` logged, sources pause (`logship_agent_sources_paused` 1), nothing crashes; when shipping frees space reading resumes and every line arrives once")
def disk_full(env):
    if not ROOT:
        return None, "SKIPPED (needs root to mount a tmpfs)"
    d = env.work / "disk-full"
    d.mkdir()
    data = env.work / "disk-full-data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(data)], check=True)
    env.mounts.append(data)
    late = harness.free_port()
    common.LineWriter(d / "app.log", noise=True).write(40_000)
    agent = env.start_agent("disk-full", env.files_source(d), port=late, data_dir=data,
                            batch="{max_bytes: 64KiB, linger: 50ms}", spool="{max_bytes: 64MiB, segment_bytes: 256KiB}")
    harness.wait_until(lambda: "No space left on device" in agent.log_tail(200), 30, what="ENOSPC")
    harness.wait_until(lambda: common.scrape_metric(agent.http_port, "logship_agent_sources_paused") == 1, 30,
                       what="sources paused on a full disk")
    assert agent.alive()
    collector = env.extra_collector(late)
    env.exact_numbers("disk-full", 40_000)
    assert collector.terminate() == 0
    return agent, "paused on ENOSPC, resumed, 40,000 rows each once"


@case("read-only data dir", "data_dir on a read-only filesystem",
      "the agent exits 1 at start: `data_dir DIR is not writable (Read-only file system): ... make it writable ... or set data_dir`")
def readonly_data_dir(env):
    data = env.work / "ro-mount"
    data.mkdir()
    if ROOT:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(data)], check=True)
        env.mounts.append(data)
        why = "Read-only file system"
    else:
        os.chmod(data, 0o555)
        why = "Permission denied"
    agent = env.start_agent("ro-data", env.files_source(env.work / "ro-logs"), data_dir=data)
    rc = agent.popen.wait(15)
    assert rc == 1, rc
    assert f"data_dir {data} is not writable ({why})" in agent.log_tail(20), agent.log_tail(20)
    return None, f"exit 1: data_dir ... is not writable ({why})"


# ---------------------------------------------------------------------------------------------
# Frames on the wire (a raw gRPC client; see test_collector.bad_frames_case).

def ship_raw(env, frame, code, needle, port=None, metadata=None):
    import grpc
    from logship.v1 import ingest_pb2_grpc
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{port or env.port}"))
    call = stub.Ship(iter([frame]), timeout=30, metadata=metadata)
    try:
        for _ in call:
            pass
        raise AssertionError("the frame was accepted")
    except grpc.RpcError as e:
        assert e.code() == code, f"{e.code()} {e.details()}"
        assert needle in e.details(), e.details()
        return f"{e.code().name}: {e.details()}"


def rejected(env):
    return common.scrape_metric(env.http, "logship_collector_frames_rejected_total") or 0


def frame(**kw):
    from logship.v1 import ingest_pb2
    return ingest_pb2.BatchFrame(agent_id=kw.pop("agent_id", "evil"), sequence=kw.pop("sequence", 1), **kw)


def wire_case(env, f, code_name, needle):
    import grpc
    before = rejected(env)
    msg = ship_raw(env, f, getattr(grpc.StatusCode, code_name), needle)
    assert rejected(env) == before + 1, "not counted in logship_collector_frames_rejected_total"
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, msg


@case("unknown codec", "a BatchFrame with codec 7",
      "`INVALID_ARGUMENT: frame 1 from agent \"evil\": unknown codec 7`, counted in `logship_collector_frames_rejected_total`")
def unknown_codec(env):
    return wire_case(env, frame(codec=7, record_count=1, uncompressed_bytes=3, payload=b"abc"),
                     "INVALID_ARGUMENT", "unknown codec 7")


@case("frame claiming 4 GiB", "a frame declaring `uncompressed_bytes` 4 GiB",
      "`RESOURCE_EXHAUSTED: ... declared uncompressed size 4294967296 exceeds max_uncompressed_bytes`, refused before allocating")
def claims_4gib(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=4 << 30, payload=b"x"),
                     "RESOURCE_EXHAUSTED", "declared uncompressed size 4294967296 exceeds max_uncompressed_bytes")


def zstd(data, level=19):
    return subprocess.run(["zstd", f"-{level}", "-q", "-c"], input=data, capture_output=True, check=True).stdout


@case("zstd bomb", "100 MB of zeros in 3 KiB of zstd, declared as 1,000 bytes",
      "`INVALID_ARGUMENT: ... payload decompresses to more than the 1000 bytes the frame declared` (decompression stops there); collector memory does not grow")
def zstd_bomb(env):
    from logship.v1 import ingest_pb2
    bomb = zstd(b"\0" * 100_000_000)
    rss = env.collector.rss_peak_kib()
    out = wire_case(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=1000, payload=bomb),
                    "INVALID_ARGUMENT", "payload decompresses to more than the 1000 bytes the frame declared")
    grew = (env.collector.rss_peak_kib() - rss) / 1024
    assert grew < 32, f"collector peak RSS grew by {grew:.0f} MiB"
    return None, out[1] + f" (peak RSS +{grew:.0f} MiB)"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@case("protobuf with a huge repeated field", "6 KiB of zstd holding 30 million empty records (declared: 1), or one record with 20 million empty attributes",
      "refused before parsing: `INVALID_ARGUMENT: ... batch holds more records than the 1 the frame declared`, `RESOURCE_EXHAUSTED: a record has more than max_attributes (256) attributes` (and at most 2 x max_uncompressed_bytes of attribute objects per batch); collector peak memory grows < 200 MiB (it was 3 GiB)")
def huge_repeated(env):
    from logship.v1 import ingest_pb2
    rss = env.collector.rss_peak_kib()
    t0 = time.monotonic()
    raw = b"\x22\x00" * 30_000_000
    ship_raw(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=len(raw), payload=zstd(raw, 3)),
             __import__("grpc").StatusCode.INVALID_ARGUMENT, "batch holds more records than the 1 the frame declared")
    record = b"\x0a\x10" + b"r" * 16 + b"\x3a\x00" * 20_000_000
    raw = b"\x0a\x04evil" + b"\x1a\x03\x0a\x01s" + b"\x22" + varint(len(record)) + record
    msg = ship_raw(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=len(raw),
                              payload=zstd(raw, 3)),
                   __import__("grpc").StatusCode.RESOURCE_EXHAUSTED, "a record has more than max_attributes (256) attributes")
    took = time.monotonic() - t0
    grew = (env.collector.rss_peak_kib() - rss) / 1024
    assert grew < 200, f"collector peak RSS grew by {grew:.0f} MiB"
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, f"both refused in {took:.1f}s; peak RSS +{grew:.0f} MiB; {msg}"


@case("batch with 1 million empty records", "a frame declaring 1,000,000 records of 0 bytes each",
      "`RESOURCE_EXHAUSTED: ... record_count 1000000 exceeds max_records` (`limits.max_records`, default 100,000)")
def million_empty(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_NONE, record_count=1_000_000, uncompressed_bytes=2_000_000,
                                payload=b"\x22\x00" * 1_000_000),
                     "RESOURCE_EXHAUSTED", "record_count 1000000 exceeds max_records")


@case("garbage protobuf", "a payload of 100 bytes 0xff",
      "`INVALID_ARGUMENT: ... payload is not a valid logship.v1.Batch`")
def garbage_protobuf(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_NONE, record_count=1, uncompressed_bytes=100, payload=b"\xff" * 100),
                     "INVALID_ARGUMENT", "payload is not a valid logship.v1.Batch")


@case("agent id that does not match its token", "agent `good`'s bearer token on frames claiming agent `mallory`",
      "`PERMISSION_DENIED: the token belongs to agent \"good\" but the frame claims \"mallory\"`, counted in `logship_collector_auth_failures_total`; nothing stored (the same token with its own id is accepted)")
def foreign_agent_id(env):
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc, record_pb2
    port, http = env.auth_collector()
    token = [("authorization", "Bearer good-agent-token-0123456789")]
    batch = record_pb2.Batch(agent_id=b"good", host=b"h", sources=[record_pb2.Source(name=b"auth-src")],
                             records=[record_pb2.LogRecord(id=os.urandom(16), observed_time_unix_nano=time.time_ns(),
                                                           body=b"from good")])
    payload = batch.SerializeToString()
    ok = frame(agent_id="good", codec=ingest_pb2.CODEC_NONE, record_count=1, uncompressed_bytes=len(payload),
               payload=payload)
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    acks = list(stub.Ship(iter([ok]), timeout=30, metadata=token))
    assert acks and acks[0].status == ingest_pb2.BatchAck.OK, acks
    batch.agent_id = b"mallory"
    payload = batch.SerializeToString()
    bad = frame(agent_id="mallory", sequence=2, codec=ingest_pb2.CODEC_NONE, record_count=1,
                uncompressed_bytes=len(payload), payload=payload)
    msg = ship_raw(env, bad, grpc.StatusCode.PERMISSION_DENIED,
                   'the token belongs to agent "good" but the frame claims "mallory"', port=port, metadata=token)
    assert common.scrape_metric(http, "logship_collector_auth_failures_total") == 1
    assert env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'mallory'") == "0"
    assert env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'good' AND source = 'auth-src'") == "1"
    return None, msg


@case("OTLP body with deep nesting", "an OTLP/gRPC Export whose body nests kvlists 20 levels deep, and one 60 levels deep",
      "20 levels: stored, cut at depth 16 with `…`; 60 levels: the request is refused (`INVALID_ARGUMENT`/`INTERNAL`, protobuf's recursion limit); the collector keeps serving")
def otlp_deep(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    def nested(levels):
        v = common_pb2.AnyValue(string_value="bottom")
        for i in range(levels):
            v = common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[common_pb2.KeyValue(key=f"l{i}", value=v)]))
        return v

    def request(levels):
        return logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
            resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(
                key="service.name", value=common_pb2.AnyValue(string_value="catalogue-otlp"))]),
            scope_logs=[logs_pb2.ScopeLogs(log_records=[logs_pb2.LogRecord(time_unix_nano=time.time_ns(),
                                                                           body=nested(levels))])])])
    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env.port}"))
    stub.Export(request(20), timeout=10)
    try:
        stub.Export(request(60), timeout=10)
        raise AssertionError("a request nested 180 messages deep was accepted")
    except grpc.RpcError as e:
        assert e.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT), e.code()
        refused = e.code().name
    harness.wait_until(lambda: env.pg.scalar("SELECT count(*) FROM logs WHERE source = 'catalogue-otlp'") == "1", 10,
                       what="the OTLP row")
    body = env.pg.scalar("SELECT body FROM logs WHERE source = 'catalogue-otlp'")
    assert "…" in body and "bottom" not in body, body[:200]
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, f"20 levels stored and cut ({len(body)} chars); 60 levels {refused}"


# ---------------------------------------------------------------------------------------------
# Sinks.

@case("malformed Elasticsearch response", "`_bulk` answers cut off mid-JSON (3 of them), after the cluster applied the documents",
      "counted in `logship_collector_es_malformed_responses_total` and logged; the items are sent again and the re-sent ones meet 409, so every document is stored exactly once")
def es_malformed(env):
    sys.path.insert(0, str(REPO / "tests" / "fakes"))
    import fake_elasticsearch
    server, cluster = fake_elasticsearch.serve()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cluster.faults.update({"malformed_responses": 3})
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-es.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\nhttp: {{listen: 127.0.0.1:{http}}}\nsinks:\n"
                   f"  elasticsearch:\n    urls: [\"{url}\"]\n    dead_letter_dir: {env.work / 'es-dead'}\n"
                   "    retry_min: 20ms\n    retry_max: 100ms\n")
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-es")
    common.wait_healthy(env.collector_bin, port)
    d = env.work / "es-malformed"
    d.mkdir()
    (d / "app.log").write_text("".join(f"seq={i:08d} line\n" for i in range(1, 3001)))
    agent = env.start_agent("es-malformed", env.files_source(d), port=port)
    try:
        def messages():
            with cluster.lock:
                return [doc["message"] for i in cluster.indices.values() for doc in i["docs"].values()]
        harness.wait_until(lambda: len(messages()) >= 3000, 60, what="3000 documents")
        time.sleep(1.0)
        docs = messages()
        assert len(docs) == len(set(docs)) == 3000, len(docs)
        assert cluster.faults.get("malformed_responses") == 0
        assert (common.scrape_metric(http, 'logship_collector_es_malformed_responses_total{sink="elasticsearch"}')
                or 0) >= 3
        assert cluster.stats["conflicts"] > 0, "re-sent items should have met 409"
        assert "malformed _bulk response" in (env.work / "collector-es.log").read_text()
    finally:
        agent.terminate()
        collector.terminate()
        server.shutdown()
    return None, f"3 cut-off answers counted and logged; 3000 documents, each once ({cluster.stats['conflicts']} met 409)"


@case("PostgreSQL refusing a row", "a CHECK constraint that refuses some rows (SQLSTATE 23514)",
      "the refused rows go to `logs_dead_letter` (with SQLSTATE and the row text), counted in `logship_collector_sink_dead_lettered_total`; the rest of the batch and the stream go on")
def pg_refuses(env):
    d = env.work / "refused"
    d.mkdir()
    env.pg.query("ALTER TABLE logs ADD CONSTRAINT catalogue_poison CHECK (body NOT LIKE '%CATALOGUE-POISON%')")
    before = common.scrape_metric(env.http, 'logship_collector_sink_dead_lettered_total{sink="postgres"}') or 0
    try:
        (d / "app.log").write_text("".join(f"seq={i:08d} {'CATALOGUE-POISON ' if i % 10 == 0 else ''}line\n"
                                           for i in range(1, 101)))
        agent = env.start_agent("refused", env.files_source(d))
        env.wait_rows("refused", 90)
        harness.wait_until(lambda: env.pg.scalar(
            "SELECT count(*) FROM logs_dead_letter WHERE agent_id = 'refused'") == "10", 20, what="10 dead letters")
        row = env.pg.query("SELECT min(sqlstate), bool_and(row_text LIKE '%CATALOGUE-POISON%') FROM logs_dead_letter "
                           "WHERE agent_id = 'refused'")[0]
        assert row == ("23514", "t"), row
        after = common.scrape_metric(env.http, 'logship_collector_sink_dead_lettered_total{sink="postgres"}')
        assert after == before + 10, (before, after)
    finally:
        env.pg.query("ALTER TABLE logs DROP CONSTRAINT catalogue_poison")
    return agent, "90 rows stored, 10 in logs_dead_letter (23514), counted"


# ---------------------------------------------------------------------------------------------
# Hostile content and disagreeing limits (issues 17, 18).

@case("JSON nested 200,000 deep", "a log line of 200,000 `[` through a `json` pipeline stage (a recursive parser overflows its stack)",
      "stored as it came, marked `logship.failed_stage: json`; the JSON stage never parses a document nested deeper than 64 or larger than 1 MiB; the collector keeps serving")
def deep_json(env):
    d = env.work / "deep-json"
    d.mkdir()
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-json.yaml"
    cfg.write_text(test_collector.collector_yaml(port, env.pg, http, pipeline="pipeline:\n  - json: {}\n"))
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-json")
    common.wait_healthy(env.collector_bin, port)
    try:
        (d / "app.log").write_text('{"msg":"before"}\n' + "[" * 200_000 + '\n{"msg":"after"}\n')
        agent = env.start_agent("deep-json", env.files_source(d), port=port)
        env.wait_rows("deep-json", 3)
        row = env.pg.query("SELECT attributes->>'logship.failed_stage', length(body) FROM logs "
                           "WHERE agent_id = 'deep-json' AND body LIKE '[[[%'")[0]
        assert row == ("json", "200000"), row
        assert env.rows("deep-json", "attributes->>'msg' IN ('before', 'after')") == 2
        assert collector.alive()
    finally:
        collector.terminate()
    return agent, "the deep line stored and marked json-failed; its neighbours parsed; the collector alive"


@case("batch larger than the collector's frame limit", "an agent with `batch.max_bytes: 4MiB` of incompressible lines, a collector with `max_frame_bytes: 1MiB`",
      "the collector announces its limits when the stream opens; the agent sends each batch in parts that fit (`logship_agent_batches_split_total`); every line arrives once. A single record larger than any frame is kept in the agent's `dead-letter/` with its reason, never re-sent forever")
def frame_limit(env):
    d = env.work / "frame-limit"
    d.mkdir()
    port = harness.free_port()
    cfg = env.work / "collector-small.yaml"
    cfg.write_text(common.write_collector_config(env.work, port, env.pg,
                                                 extra="limits: {max_frame_bytes: 1MiB}\nhttp: {listen: \"\"}\n").read_text())
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-small")
    common.wait_healthy(env.collector_bin, port)
    try:
        with open(d / "app.log", "w") as f:
            for i in range(1, 6001):
                f.write(f"seq={i:08d} {os.urandom(400).hex()}\n")
        agent = env.start_agent("frame-limit", env.files_source(d), port=port,
                                batch="{max_records: 100000, max_bytes: 4MiB, linger: 500ms}")
        env.exact_numbers("frame-limit", 6000)
        assert common.scrape_metric(agent.http_port, "logship_agent_batches_split_total") >= 1
    finally:
        collector.terminate()
    return agent, "6,000 lines of 800 bytes in 4 MiB batches through a 1 MiB frame limit, each once"


@case("OTLP flood without a token", "tokens configured; four ~15 MiB Export requests with no token, each of millions of empty LogRecords",
      "`UNAUTHENTICATED` before the request is parsed; with a token the same request is refused by `limits.max_otlp_request_bytes` (8 MiB) and one of 6 MiB by its record count, both before parsing; collector memory stays flat (it reached 3.8 GiB)")
def otlp_flood(env):
    import grpc
    port, http = env.auth_collector()
    proc = env._auth[0]
    scope = b"\x12\x00" * 7_500_000
    rl = b"\x12" + test_security_varint(len(scope)) + scope
    body = b"\x0a" + test_security_varint(len(rl)) + rl
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", -1)])
    call = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                               request_serializer=lambda b: b, response_deserializer=lambda b: b)
    codes = []
    for _ in range(4):
        try:
            call(body, timeout=60)
        except grpc.RpcError as e:
            codes.append(e.code())
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 4, codes
    try:
        call(body, metadata=[("authorization", "Bearer good-agent-token-0123456789")], timeout=60)
        raise AssertionError("an oversized request was taken")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
    peak = harness.Proc.rss_peak_kib(proc) / 1024
    assert peak < 300, f"peak RSS {peak:.0f} MiB"
    return None, f"4 x UNAUTHENTICATED, 1 x RESOURCE_EXHAUSTED; collector peak RSS {peak:.0f} MiB"


def test_security_varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


@case("event time far away", "log lines whose `ts=` is in 2001 or in 2099 (`kv` stage), and an OTLP request of 3,000 records on 3,000 different days",
      "each time is clamped to 7 days before / 1 hour after the time the line was read, the original kept in `logship.original_time`; the request creates a handful of partitions, not 3,005, and every record is stored")
def event_time_far(env):
    d = env.work / "far-time"
    d.mkdir()
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-kv.yaml"
    cfg.write_text(test_collector.collector_yaml(port, env.pg, http, pipeline="pipeline:\n  - kv: {}\n"))
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-kv")
    common.wait_healthy(env.collector_bin, port)
    try:
        (d / "app.log").write_text("ts=2001-01-01T00:00:00Z msg=old\nts=2099-01-01T00:00:00Z msg=future\n")
        agent = env.start_agent("far-time", env.files_source(d), port=port)
        env.wait_rows("far-time", 2)
        rows = env.pg.query("SELECT round(extract(epoch FROM observed_ts - ts) / 3600), "
                            "attributes ? 'logship.original_time' FROM logs WHERE agent_id = 'far-time' ORDER BY ts")
        assert rows == [("168", "t"), ("-1", "t")], rows
    finally:
        collector.terminate()
    return agent, "2001 clamped to 7 days back, 2099 to 1 hour ahead; originals kept"


@case("symbolic link to another file", "in a log directory the agent tails, `app.log -> /etc/shadow-like file` (a user who owns the directory planting a link)",
      "skipped with one warning `skipping PATH: it is a symbolic link (set follow_symlinks: true on this source if that is meant)`; files are opened with O_NOFOLLOW; the real files beside it ship")
def symlink_to_other(env):
    d = env.work / "planted"
    d.mkdir()
    secret = env.work / "secret.txt"
    secret.write_text("secret line\n")
    os.symlink(secret, d / "app.log")
    (d / "real.log").write_text("seq=00000001 real line\n")
    agent = env.start_agent("planted", env.files_source(d))
    env.exact_numbers("planted", 1)
    time.sleep(1)
    assert env.rows("planted", "body = 'secret line'") == 0
    assert "it is a symbolic link" in agent.log_tail(50)
    return agent, "the link skipped and said once; the real file shipped"


# ---------------------------------------------------------------------------------------------

class Env(test_file_source.Env):
    """One PostgreSQL, one collector; agents per case (rows/wait_rows/exact_numbers by agent_id)."""

    def __init__(self, agent_bin, collector_bin, pg, work):
        self.port, self.http = harness.free_port(), harness.free_port()
        super().__init__(agent_bin, collector_bin, pg, work, self.port)
        self.mounts = []
        self._auth = None
        cfg = work / "collector.yaml"
        cfg.write_text(test_collector.collector_yaml(self.port, pg, self.http))
        self.collector = common.start_collector(collector_bin, cfg, work)
        common.wait_healthy(collector_bin, self.port)

    def files_source(self, d):
        return f"    include: [\"{d}/*.log\"]\n    start_at: beginning\n    poll_interval: 250ms\n"

    def start_agent(self, name, source_yaml, extra="", port=None, data_dir=None, wrap=(), env=None,
                    batch="{max_records: 2000, max_bytes: 1MiB, linger: 50ms}", spool=None, collector_extra=False):
        d = self.work / name
        d.mkdir(exist_ok=True)
        http_port = harness.free_port()
        cfg = d / "agent.yaml"
        cfg.write_text(
            f"agent_id: {name}\n"
            f"data_dir: {data_dir or d / 'data'}\n"
            "sources:\n"
            "  - type: file\n"
            "    name: files\n" + source_yaml +
            f"batch: {batch}\n" + (f"spool: {spool}\n" if spool else "") +
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{port or self.port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 500ms\n" + (extra if collector_extra else "") +
            f"http: {{listen: 127.0.0.1:{http_port}}}\n" + ("" if collector_extra else extra))
        proc = harness.Proc([*wrap, self.agent_bin, "--config", cfg], self.work, name=f"agent-{name}", env=env)
        proc.http_port = http_port
        proc.cfg = cfg
        return proc

    def extra_collector(self, port):
        cfg = self.work / f"collector-{port}.yaml"
        cfg.write_text(common.write_collector_config(self.work, port, self.pg, extra="http: {listen: \"\"}\n").read_text())
        proc = common.start_collector(self.collector_bin, cfg, self.work, name=f"collector-{port}")
        common.wait_healthy(self.collector_bin, port)
        return proc

    def auth_collector(self):
        if self._auth is None:
            port, http = harness.free_port(), harness.free_port()
            token = self.work / "good.token"
            token.write_text("good-agent-token-0123456789\n")
            cfg = self.work / "collector-auth.yaml"
            cfg.write_text(test_collector.collector_yaml(
                port, self.pg, http, extra=f"auth:\n  tokens:\n    - {{agent: good, token_file: {token}}}\n"))
            self._auth = (common.start_collector(self.collector_bin, cfg, self.work, name="collector-auth"), port, http)
            common.wait_healthy(self.collector_bin, port)
        return self._auth[1], self._auth[2]

    def cleanup(self):
        harness.cleanup_all()
        for m in self.mounts:
            subprocess.run(["umount", "-l", str(m)], check=False)


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
