#!/usr/bin/env python3
"""journald source on real journal files made with systemd-journal-remote.

100,000 entries (multi-line and binary MESSAGEs among them) → exactly 100,000 rows; a new
journal file added while running is picked up; kill -9 and restart resumes at the cursor with
no loss and no duplicates; a vacuumed cursor resumes at the oldest entry and is reported.
"""

import sys
import time
import urllib.request

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


class JournaldChecks:
    """The checks in order, on one agent (restarted by some of them: self.agent is the current
    one, whose log a failure prints)."""

    def __init__(self, agent_bin, work, jdir, pg, port):
        self.agent_bin, self.work, self.jdir, self.pg, self.port = agent_bin, work, jdir, pg, port
        self.http_port = harness.free_port()
        self.agent_cfg = write_agent_config(work, port, jdir, self.http_port)
        journal.write_journal(jdir / "a.journal", 1, 100_000)
        self.agent = harness.Proc([agent_bin, "--config", self.agent_cfg], work, name="agent")

    def restart_agent(self, name):
        self.agent = harness.Proc([self.agent_bin, "--config", self.agent_cfg], self.work, name=name)

    def first_read(self):
        t0 = time.monotonic()
        common.assert_exact(self.pg, 100_000, 120, "100,000 journal entries")
        elapsed = time.monotonic() - t0 - 1.0
        print(f"read 100,000 entries into PostgreSQL in {elapsed:.2f}s = {100_000 / elapsed:,.0f} entries/s")

    def field_mapping(self):
        """Field mapping, multi-line and binary MESSAGE."""
        pg = self.pg
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

    def new_file(self):
        """A new journal file while the agent runs."""
        journal.write_journal(self.jdir / "b.journal", 100_001, 10_000)
        common.assert_exact(self.pg, 110_000, 60, "new journal file picked up")

    def restart_resumes(self):
        """kill -9, more entries, restart: resumes after the cursor."""
        self.agent.kill9()
        journal.write_journal(self.jdir / "c.journal", 110_001, 10_000)
        self.restart_agent("agent2")
        common.assert_exact(self.pg, 120_000, 60, "restart from the cursor")
        assert "resuming" in self.agent.log_tail(50), self.agent.log_tail(50)

    def vacuumed_cursor(self):
        """The checkpointed entry is vacuumed away while the agent is down."""
        assert self.agent.terminate() == 0
        for f in self.jdir.glob("*.journal"):
            f.unlink()
        journal.write_journal(self.jdir / "d.journal", 120_001, 10_000)
        self.restart_agent("agent3")
        common.assert_exact(self.pg, 130_000, 60, "vacuumed cursor")
        assert "is gone" in self.agent.log_tail(50), self.agent.log_tail(50)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        assert 'logship_agent_journald_cursor_gaps_total{source="journald-0"} 1\n' in metrics, metrics

    def filters(self):
        """Filters: only web.service (odd numbers) at priorities err or worse (seq % 8 in 0..3)."""
        pg = self.pg
        fcfg = write_agent_config(self.work, self.port, self.jdir, harness.free_port(), agent_id="filtered",
                                  filters="    units: [web.service]\n    priorities: [emerg, alert, crit, err]\n")
        filtered = harness.Proc([self.agent_bin, "--config", fcfg], self.work, name="agent-filtered")
        expected = sum(1 for n in range(120_001, 130_001) if n % 2 == 1 and n % 8 <= 3)
        harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'filtered'")) >= expected,
                           30, what=f"{expected} filtered entries")
        time.sleep(1)
        got = pg.query("SELECT count(*), count(DISTINCT source), max(severity) >= 17, min(severity) >= 17 "
                       "FROM logs WHERE agent_id = 'filtered'")[0]
        assert got == (str(expected), "1", "t", "t"), (got, expected)
        assert filtered.terminate() == 0


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-journald")
    jdir = work / "journal"
    jdir.mkdir()
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work)
        common.wait_healthy(collector_bin, port)
        checks = JournaldChecks(agent_bin, work, jdir, pg, port)
        passed = 0
        try:
            for check in (checks.first_read, checks.field_mapping, checks.new_file, checks.restart_resumes,
                          checks.vacuumed_cursor, checks.filters):
                check()
                passed += 1
            assert checks.agent.terminate() == 0
        except BaseException:
            print("--- agent log ---\n" + checks.agent.log_tail(40), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(40), file=sys.stderr)
            raise
    print(f"journald: {passed} passed, 0 failed")

if __name__ == "__main__":
    main()
