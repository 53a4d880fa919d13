#!/usr/bin/env python3
"""The spool under pressure, with the collector away:

1. a tiny spool.max_bytes: the agent stops reading at the bound, then catches up fully;
2. a corrupted byte in a spooled segment: the agent starts, skips that frame, counts it;
3. the disk fills up (a 3 MiB tmpfs as data_dir; root only): sources pause, nothing
   crashes, writing resumes when shipping frees space, every line arrives, and the spool
   reopens with no corrupt frame.
"""

import os
import struct
import subprocess
import sys
import time

import common
import harness

FRAME_HEADER = 40
SEGMENT_HEADER = 16


def agent_config(work, port, logs, http_port, data_dir, spool, batch):
    cfg = common.write_agent_config(work, port, str(logs / "*.log"),
                                    extra=f"http: {{listen: 127.0.0.1:{http_port}}}\n")
    text = cfg.read_text()
    text = text.replace(f"data_dir: {work / 'agent-data'}", f"data_dir: {data_dir}")
    text = text.replace("spool: {max_bytes: 256MiB, fsync: batch}", f"spool: {spool}")
    text = text.replace("batch: {max_records: 2000, max_bytes: 1MiB, linger: 100ms}", f"batch: {batch}")
    cfg.write_text(text)
    return cfg


def frames_in(segment):
    """(offset, record_count) of every frame in a spool segment (agent/spool/FORMAT.md)."""
    data = segment.read_bytes()
    out, off = [], SEGMENT_HEADER
    while off + FRAME_HEADER <= len(data):
        payload_len, meta_len, records = struct.unpack_from("<III", data, off + 16)
        out.append((off, records))
        off += FRAME_HEADER + payload_len + meta_len
    return out


def tiny_bound(agent_bin, collector_bin, pg, work):
    logs = work / "tiny-logs"
    logs.mkdir()
    port, http_port = harness.free_port(), harness.free_port()
    cfg = agent_config(work, port, logs, http_port, work / "tiny-data",
                       "{max_bytes: 256KiB, segment_bytes: 64KiB}", "{max_bytes: 32KiB, linger: 50ms}")
    common.LineWriter(logs / "app.log", noise=True).write(50_000)
    agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-tiny")
    read = lambda: common.scrape_metric(http_port, 'logship_agent_records_read_total{source="file-0"}')
    harness.wait_until(lambda: common.scrape_metric(http_port, "logship_agent_sources_paused") == 1, 30,
                       what="sources paused at the spool bound")
    first = read()
    time.sleep(2)
    assert read() == first, "the agent kept reading with a full spool"
    assert first < 50_000, f"the agent read everything ({first}) into a 256 KiB spool"
    spool_bytes = common.scrape_metric(http_port, "logship_agent_spool_bytes")
    assert spool_bytes <= 256 * 1024, f"spool holds {spool_bytes} bytes, over its 256 KiB bound"
    print(f"tiny bound: paused after {first:.0f} of 50000 lines with {spool_bytes / 1024:.0f} KiB spooled")
    collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work,
                                       name="collector-tiny")
    common.wait_healthy(collector_bin, port)
    common.assert_exact(pg, 50_000, 120, "tiny spool catches up")
    assert agent.terminate() == 0 and collector.terminate() == 0


def corrupt_frame(agent_bin, collector_bin, pg, work):
    logs = work / "corrupt-logs"
    logs.mkdir()
    data = work / "corrupt-data"
    port, http_port = harness.free_port(), harness.free_port()
    cfg = agent_config(work, port, logs, http_port, data, "{max_bytes: 64MiB}", "{max_records: 1000, linger: 50ms}")
    common.LineWriter(logs / "app.log").write(10_000)
    agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-corrupt")
    harness.wait_until(lambda: common.scrape_metric(http_port, "logship_agent_records_spooled_total") == 10_000, 30,
                       what="10,000 records spooled")
    assert agent.terminate() == 0
    segments = sorted((data / "spool").glob("*.seg"))
    frames = [(seg, off, n) for seg in segments for off, n in frames_in(seg)]
    assert len(frames) >= 5, f"expected at least 5 frames, found {len(frames)}"
    seg, off, lost = frames[2]
    with open(seg, "r+b") as f:  # flip one byte in the middle of the third frame's payload
        f.seek(off + FRAME_HEADER + 100)
        b = f.read(1)
        f.seek(off + FRAME_HEADER + 100)
        f.write(bytes([b[0] ^ 0x40]))
    collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work,
                                       name="collector-corrupt")
    common.wait_healthy(collector_bin, port)
    agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-corrupt2")
    expected = 10_000 - lost
    harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs")) >= expected, 60,
                       what=f"{expected} rows (all but the corrupt frame)")
    time.sleep(1)
    total, distinct = map(int, pg.query("SELECT count(*), count(DISTINCT body) FROM logs")[0])
    assert total == distinct == expected, (total, distinct, expected)
    assert common.scrape_metric(http_port, "logship_agent_spool_corrupt_frames_total") == 1
    assert "skipped 1 corrupt frame(s)" in agent.log_tail(100)
    print(f"corrupt frame: skipped and counted; {lost} lines of that frame lost, {expected} arrived")
    assert agent.terminate() == 0 and collector.terminate() == 0


def disk_full(agent_bin, collector_bin, pg, work):
    if os.geteuid() != 0:
        print("disk full: skipped (needs root to mount a small tmpfs)")
        return
    logs = work / "full-logs"
    logs.mkdir()
    data = work / "full-data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(data)], check=True)
    try:
        port, http_port = harness.free_port(), harness.free_port()
        cfg = agent_config(work, port, logs, http_port, data, "{max_bytes: 64MiB, segment_bytes: 256KiB}",
                           "{max_bytes: 64KiB, linger: 50ms}")
        common.LineWriter(logs / "app.log", noise=True).write(60_000)
        agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-full")
        harness.wait_until(lambda: "No space left on device" in agent.log_tail(200), 30, what="ENOSPC")
        harness.wait_until(lambda: common.scrape_metric(http_port, "logship_agent_sources_paused") == 1, 30,
                           what="sources paused on a full disk")
        time.sleep(1)
        assert agent.alive(), "agent died on a full disk:\n" + agent.log_tail()
        collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work,
                                           name="collector-full")
        common.wait_healthy(collector_bin, port)
        common.assert_exact(pg, 60_000, 120, "disk full, then space freed by shipping")
        assert agent.terminate() == 0
        agent = harness.Proc([agent_bin, "--config", cfg], work, name="agent-full2")
        harness.wait_until(lambda: "corrupt skipped" in agent.log_tail(50), 10, what="agent restart")
        assert "0 corrupt skipped" in agent.log_tail(50), agent.log_tail(50)
        assert agent.terminate() == 0 and collector.terminate() == 0
        print("disk full: paused, resumed, exact, spool intact")
    finally:
        harness.cleanup_all()
        subprocess.run(["umount", "-l", str(data)], check=False)


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-spool")
    passed = 0
    with harness.PostgresServer() as pg:
        for test in (tiny_bound, corrupt_frame, disk_full):
            pg.query("DROP TABLE IF EXISTS logs")
            try:
                test(agent_bin, collector_bin, pg, work)
            except BaseException:
                for p in harness._procs:
                    print(f"--- {p.name} ---\n{p.log_tail(20)}", file=sys.stderr)
                raise
            passed += 1
    print(f"spool: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
