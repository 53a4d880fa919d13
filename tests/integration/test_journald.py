#!/usr/bin/env python3
"""journald source on real journal files made with systemd-journal-remote.

100,000 entries (multi-line and binary MESSAGEs among them) → exactly 100,000 rows; a new
journal file added while running is picked up; kill -9 and restart resumes at the cursor with
no loss and no duplicates; a vacuumed cursor resumes at the oldest entry and is reported.
"""

import sys
import time

import common
import harness
import journal


def write_agent_config(work, port, directory, http_port, agent_id="journal-agent", filters=""):
    path = work / f"{agent_id}.yaml"
    path.write_text(
        f"agent_id: {agent_id}\n"
        f"data_dir: {work / (agent_id + '-data')}\n"
        "sources:\n"
        "  - type: journald\n"
        f"    directory: {directory}\n" + filters +
        "    start_at: beginning\n"
        "    poll_interval: 250ms\n"
        "    attributes: {pipeline: journald-test}\n"
        "batch: {max_records: 2000, max_bytes: 1MiB, linger: 100ms}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        "  backoff_min: 50ms\n"
        "  backoff_max: 1s\n"
        f"http: {{listen: 127.0.0.1:{http_port}}}\n")
    return path


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-journald")
    jdir = work / "journal"
    jdir.mkdir()
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work)
        common.wait_healthy(collector_bin, port)
        http_port = harness.free_port()
        agent_cfg = write_agent_config(work, port, jdir, http_port)
        journal.write_journal(jdir / "a.journal", 1, 100_000)
        agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
        passed = 0
        try:
            t0 = time.monotonic()
            common.assert_exact(pg, 100_000, 120, "100,000 journal entries")
            elapsed = time.monotonic() - t0 - 1.0
            print(f"read 100,000 entries into PostgreSQL in {elapsed:.2f}s = {100_000 / elapsed:,.0f} entries/s")
            passed += 1

            # Field mapping, multi-line and binary MESSAGE.
            body, source, severity, attrs = pg.query(
                "SELECT replace(body, chr(10), '<NL>'), source, severity, attributes::text "
                "FROM logs WHERE body LIKE 'seq=00001000 %'")[0]
            assert body.endswith("<NL>  File \"x.py\", line 1<NL>ValueError: boom"), body
            assert source == "worker.service", source
            assert severity == "21", severity  # PRIORITY 0 (1000 % 8) → FATAL
            assert '"_PID"' in attrs and '"_HOSTNAME": "testhost"' in attrs and '"pipeline": "journald-test"' in attrs, attrs
            lines = int(pg.scalar("SELECT count(*) FROM logs WHERE body LIKE 'seq=00001000 %' AND body LIKE '%' || chr(10) || '%'"))
            assert lines == 1, "multi-line MESSAGE lost its newlines"
            binary = pg.query("SELECT body, attributes->>'logship.escaped' FROM logs WHERE body LIKE 'seq=00001001 %'")[0]
            assert binary[0] == "seq=00001001 binary \\xff\\xfe\\x00end" and binary[1] == "true", binary
            passed += 1

            # A new journal file while the agent runs.
            journal.write_journal(jdir / "b.journal", 100_001, 10_000)
            common.assert_exact(pg, 110_000, 60, "new journal file picked up")
            passed += 1

            # kill -9, more entries, restart: resumes after the cursor.
            agent.kill9()
            journal.write_journal(jdir / "c.journal", 110_001, 10_000)
            agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent2")
            common.assert_exact(pg, 120_000, 60, "restart from the cursor")
            assert "resuming" in agent.log_tail(50), agent.log_tail(50)
            passed += 1

            # The checkpointed entry is vacuumed away while the agent is down.
            assert agent.terminate() == 0
            for f in jdir.glob("*.journal"):
                f.unlink()
            journal.write_journal(jdir / "d.journal", 120_001, 10_000)
            agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent3")
            common.assert_exact(pg, 130_000, 60, "vacuumed cursor")
            assert "is gone" in agent.log_tail(50), agent.log_tail(50)
            import urllib.request
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as r:
                metrics = r.read().decode()
            assert 'logship_agent_journald_cursor_gaps_total{source="journald-0"} 1\n' in metrics, metrics
            passed += 1

            # Filters: only web.service (odd numbers) at priorities err or worse (seq % 8 in 0..3).
            fcfg = write_agent_config(work, port, jdir, harness.free_port(), agent_id="filtered",
                                      filters="    units: [web.service]\n    priorities: [emerg, alert, crit, err]\n")
            filtered = harness.Proc([agent_bin, "--config", fcfg], work, name="agent-filtered")
            expected = sum(1 for n in range(120_001, 130_001) if n % 2 == 1 and n % 8 <= 3)
            harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'filtered'")) >= expected,
                               30, what=f"{expected} filtered entries")
            time.sleep(1)
            got = pg.query("SELECT count(*), count(DISTINCT source), max(severity) >= 17, min(severity) >= 17 "
                           "FROM logs WHERE agent_id = 'filtered'")[0]
            assert got == (str(expected), "1", "t", "t"), (got, expected)
            assert filtered.terminate() == 0
            passed += 1
            assert agent.terminate() == 0
        except BaseException:
            print("--- agent log ---\n" + agent.log_tail(40), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(40), file=sys.stderr)
            raise
    print(f"journald: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
