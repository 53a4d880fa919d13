"""Catalogue: the agent's spool and data directory."""

import os
import subprocess

import common
import harness
import test_spool
from catalogue.registry import ROOT, case


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
