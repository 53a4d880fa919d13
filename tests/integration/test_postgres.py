#!/usr/bin/env python3
"""The PostgreSQL sink against a real server (and a real streaming replica):

1. three collectors starting together migrate one schema once (advisory lock, version table);
2. PostgreSQL restarted mid-stream: no loss, no duplicates;
3. a permission error: batches retried, logship.v1.Ingest NOT_SERVING, all rows after the grant;
4. rows PostgreSQL refuses go to logs_dead_letter and never block the stream;
5. partitions_by_host: each day hash-partitioned by host;
6. retention drops (and archives, zstd) partitions older than retention_days;
7. read_dsn: a replica made with pg_basebackup sees the rows written through the collector;
8. rows no retry can save (an index row too large: 54000) go to the dead letter at once, and a
   row that keeps failing with a retryable error (a trigger raising 55000) while others are
   stored goes there after give_up_after: the stream never wedges;
9. a collector whose wall clock jumps 10 days ahead does not let retention drop today's data.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import common
import harness


def admin(pg, sql):
    """SQL as the superuser `postgres` on the logs database."""
    r = subprocess.run([harness.PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
                        "-U", "postgres", "-d", "logs", "-c", sql], capture_output=True, text=True)
    if r.returncode:
        raise AssertionError(f"admin SQL failed: {sql}: {r.stderr}")
    return r.stdout.strip()


def collector_cfg(work, name, port, pg, pg_extra="", extra=""):
    path = work / f"{name}.yaml"
    path.write_text(f"listen: 127.0.0.1:{port}\n"
                    "sinks:\n  postgres:\n"
                    f"    dsn: \"{pg.dsn}\"\n" + pg_extra +
                    "http: {listen: \"\"}\n"
                    "health: {check_interval: 200ms, unhealthy_after: 1s}\n" + extra)
    return path


def probe(collector_bin, port, service="logship.v1.Ingest"):
    return subprocess.run([str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}", "--service", service,
                           "--timeout-ms", "1000"], capture_output=True).returncode


def migrations(env):
    work, pg, cbin = env["work"], env["pg"], env["collector_bin"]
    ports = [harness.free_port() for _ in range(3)]
    procs = [common.start_collector(cbin, collector_cfg(work, f"mig{i}", p, pg), work, name=f"mig{i}")
             for i, p in enumerate(ports)]
    for p in ports:
        common.wait_healthy(cbin, p)
    assert pg.scalar("SELECT max(version) FROM logs_schema_version") == "3"
    assert pg.scalar("SELECT count(*) FROM logs_schema_version") == "3"
    assert pg.scalar("SELECT count(*) FROM pg_tables WHERE tablename IN ('logs_dead_letter')") == "1"
    for proc in procs:
        assert proc.terminate() == 0
    return "3 collectors at once: schema version 3, applied once"


def restart_mid_stream(env):
    work, pg = env["work"], env["pg"]
    logs = work / "restart-logs"
    logs.mkdir()
    agent = env["agent"](logs, "restarter")
    writer = common.LineWriter(logs / "app.log")
    t = threading.Thread(target=writer.write, args=(50_000, 10_000))
    t.start()
    time.sleep(2)
    pg.restart()
    t.join()
    env["exact"]("restarter", 50_000)
    agent.terminate()
    return "PostgreSQL restarted under 10,000 lines/s: 50,000 rows, each once"


def permission_error(env):
    work, pg, cbin, port = env["work"], env["pg"], env["collector_bin"], env["port"]
    logs = work / "perm-logs"
    logs.mkdir()
    admin(pg, "ALTER ROLE logship NOSUPERUSER")
    admin(pg, "REVOKE INSERT ON logs FROM logship")
    try:
        agent = env["agent"](logs, "permission")
        common.LineWriter(logs / "app.log").write(1000)
        harness.wait_until(lambda: probe(cbin, port) != 0, 15, what="NOT_SERVING on a permission error")
        assert pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'permission'") == "0"
        assert "permission denied" in env["collector"].log_tail(80), env["collector"].log_tail(20)
    finally:
        admin(pg, "GRANT INSERT ON logs TO logship")
        admin(pg, "ALTER ROLE logship SUPERUSER")
    env["exact"]("permission", 1000)
    harness.wait_until(lambda: probe(cbin, port) == 0, 15, what="SERVING after the grant")
    agent.terminate()
    return "permission denied → retried, NOT_SERVING; after the grant all 1,000 rows, SERVING"


def dead_letters(env):
    work, pg = env["work"], env["pg"]
    logs = work / "poison-logs"
    logs.mkdir()
    pg.query("ALTER TABLE logs ADD CONSTRAINT no_poison CHECK (body NOT LIKE '%POISON%')")
    try:
        agent = env["agent"](logs, "poisoner")
        lines = [f"seq={i:08d} {'POISON ' if i % 100 == 0 else ''}ordinary line\n" for i in range(1, 2001)]
        (logs / "app.log").write_text("".join(lines))
        harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'poisoner'")) >= 1980, 30,
                           what="the good rows")
        harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs_dead_letter WHERE agent_id = 'poisoner'")) >= 20,
                           30, what="20 dead letters")
        time.sleep(0.5)
        assert pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'poisoner'") == "1980"
        row = pg.query("SELECT count(*), min(sqlstate), bool_and(row_text LIKE '%POISON%') FROM logs_dead_letter "
                       "WHERE agent_id = 'poisoner'")[0]
        assert row == ("20", "23514", "t"), row
        with open(logs / "app.log", "a") as f:  # the stream goes on
            f.write("seq=00002001 after the poison\n")
        harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs WHERE body LIKE '%after the poison'") == "1", 30,
                           what="a line after the refused ones")
        agent.terminate()
    finally:
        pg.query("ALTER TABLE logs DROP CONSTRAINT no_poison")
    return "20 refused rows in logs_dead_letter (23514), 1,980 stored, the stream went on"


def unstorable_rows(env):
    work, pg, cbin = env["work"], env["pg"], env["collector_bin"]
    port = harness.free_port()
    cfg = collector_cfg(work, "unstorable", port, pg, pg_extra="    table: logs_u\n    give_up_after: 2s\n")
    collector = common.start_collector(cbin, cfg, work, name="collector-unstorable")
    common.wait_healthy(cbin, port)
    pg.query("CREATE INDEX logs_u_body ON logs_u (body);"
             "CREATE FUNCTION logs_u_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
             "IF NEW.body LIKE '%STALL%' THEN RAISE EXCEPTION 'not now' USING ERRCODE = '55000'; END IF; "
             "RETURN NEW; END $$;"
             "CREATE TRIGGER logs_u_stall BEFORE INSERT ON logs_u FOR EACH ROW EXECUTE FUNCTION logs_u_stall()")
    logs = work / "unstorable-logs"
    logs.mkdir()
    (work / "unstorable-agent").mkdir()
    cfg_agent = common.write_agent_config(work / "unstorable-agent", port, str(logs / "*.log"), agent_id="unstorable",
                                          extra="http: {listen: \"\"}\n")
    agent = harness.Proc([env["agent_bin"], "--config", cfg_agent], work, name="agent-unstorable")
    huge = os.urandom(8000).hex()  # no btree can hold it (54000), whatever retry
    lines = [f"seq={i:08d} ordinary\n" for i in range(1, 301)]
    lines[99] = f"seq=00000100 {huge}\n"
    lines[199] = "seq=00000200 STALL\n"
    (logs / "app.log").write_text("".join(lines))
    count = lambda where: int(pg.scalar(f"SELECT count(*) FROM {where}"))
    harness.wait_until(lambda: count("logs_u") >= 298, 60, what="the 298 storable rows")
    harness.wait_until(lambda: count("logs_u_dead_letter") >= 2, 60, what="2 dead letters")
    time.sleep(1)
    assert count("logs_u") == 298, count("logs_u")
    rows = pg.query("SELECT sqlstate FROM logs_u_dead_letter ORDER BY sqlstate")
    assert [r[0] for r in rows] == ["54000", "55000"], rows
    with open(logs / "app.log", "a") as f:  # and the stream goes on
        f.write("seq=00000301 after\n")
    harness.wait_until(lambda: count("logs_u WHERE body LIKE '%after'") == 1, 30, what="a later line")
    agent.terminate()
    collector.terminate()
    return "a 16 KB index key (54000) dead-lettered at once, a row stalled by a trigger (55000) after 2 s; 298 stored"


def retention_clock_jump(env):
    work, pg, cbin = env["work"], env["pg"], env["collector_bin"]
    libs = sorted(pathlib.Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    assert libs, "libfaketime missing: scripts/install-deps.sh installs the faketime package"
    spec = work / "retention.faketime"
    spec.write_text("+0\n")
    fake = {**os.environ, "LD_PRELOAD": str(libs[0]), "FAKETIME_TIMESTAMP_FILE": str(spec), "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    port = harness.free_port()
    cfg = collector_cfg(work, "jump", port, pg,
                        pg_extra="    table: logs_jump\n    retention_days: 3\n    retention_interval: 300ms\n")
    collector = harness.Proc([cbin, "--config", cfg], work, name="collector-jump", env=fake)
    common.wait_healthy(cbin, port)
    logs = work / "jump-logs"
    logs.mkdir()
    (work / "jump-agent").mkdir()
    cfg_agent = common.write_agent_config(work / "jump-agent", port, str(logs / "*.log"), agent_id="jump",
                                          extra="http: {listen: \"\"}\n")
    agent = harness.Proc([env["agent_bin"], "--config", cfg_agent], work, name="agent-jump")
    common.LineWriter(logs / "app.log").write(100)
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs_jump") == "100", 30, what="100 rows")
    spec.write_text("+10d\n")  # the collector's wall clock only; PostgreSQL's is right
    time.sleep(3)  # ten retention passes
    today = pg.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
    assert pg.scalar(f"SELECT count(*) FROM pg_tables WHERE tablename = 'logs_jump_p{today}'") == "1", \
        "today's partition was dropped"
    assert pg.scalar("SELECT count(*) FROM logs_jump") == "100"
    agent.terminate()
    collector.terminate()
    return "a wall clock 10 days ahead: today's partition and its 100 rows kept"


def by_host_retention_archive(env):
    work, pg, cbin = env["work"], env["pg"], env["collector_bin"]
    port = harness.free_port()
    archive = work / "archive"
    cfg = collector_cfg(work, "hosts", port, pg,
                        pg_extra=("    table: logs_hosts\n    partitions_by_host: 4\n    retention_days: 3\n"
                                  f"    retention_interval: 300ms\n    archive_dir: {archive}\n"
                                  "    attributes_index: true\n"))
    # An old day partition with a row, as if written long ago (created before the collector,
    # which only makes the table): the collector must archive and drop it.
    collector = common.start_collector(cbin, cfg, work, name="collector-hosts")
    common.wait_healthy(cbin, port)
    pg.query("CREATE TABLE logs_hosts_p20200101 PARTITION OF logs_hosts FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')"
             " PARTITION BY HASH (host);"
             "CREATE TABLE logs_hosts_p20200101_h0 PARTITION OF logs_hosts_p20200101 FOR VALUES WITH (MODULUS 1, REMAINDER 0);"
             "INSERT INTO logs_hosts (id, ts, observed_ts, host, agent_id, source, body) VALUES "
             "(gen_random_uuid(), '2020-01-01 12:00+00', now(), 'old', 'old', 'old', 'an old line')")
    harness.wait_until(lambda: (archive / "logs_hosts_p20200101.copy.zst").exists(), 20, what="the archive")
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'logs_hosts_p20200101'") == "0",
                       20, what="the old partition dropped")
    archived = subprocess.run(["zstd", "-d", "-c", str(archive / "logs_hosts_p20200101.copy.zst")], capture_output=True,
                              check=True).stdout.decode()
    assert "an old line" in archived, archived
    logs = work / "hosts-logs"
    logs.mkdir()
    (work / "hosts-agent").mkdir()
    cfg_agent = common.write_agent_config(work / "hosts-agent", port, str(logs / "*.log"), agent_id="hosts",
                                          extra="http: {listen: \"\"}\n")
    agent = harness.Proc([env["agent_bin"], "--config", cfg_agent], work, name="agent-hosts")
    common.LineWriter(logs / "app.log").write(500)
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs_hosts WHERE agent_id = 'hosts'") == "500", 30,
                       what="500 rows in logs_hosts")
    today = pg.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
    subs = pg.scalar(f"SELECT count(*) FROM pg_inherits WHERE inhparent = 'logs_hosts_p{today}'::regclass")
    assert subs == "4", subs
    assert pg.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'logs_hosts_attributes_idx'") == "1"
    agent.terminate()
    collector.terminate()
    return "4 host sub-partitions per day; a 2020 partition archived (zstd COPY) and dropped; GIN index"


def replica(env):
    work, pg, cbin = env["work"], env["pg"], env["collector_bin"]
    rdir = pathlib.Path(tempfile.mkdtemp(prefix="logship-replica-", dir="/tmp"))
    rport = harness.free_port()
    def run(cmd):
        cmd = list(map(str, cmd))
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if os.geteuid() == 0:
        shutil.chown(rdir, user="postgres", group="postgres")
    try:
        r = run([pg.bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", pg.port, "-U", "postgres", "-D", rdir / "data",
                 "-R", "-X", "stream", "--checkpoint=fast"])
        assert r.returncode == 0, r.stderr
        r = run([pg.bindir / "pg_ctl", "-D", rdir / "data", "-l", rdir / "log", "-w", "-t", "60", "-o",
                 f"-p {rport} -k {rdir} -c listen_addresses=127.0.0.1 -c hot_standby=on", "start"])
        assert r.returncode == 0, r.stdout + r.stderr
        port = harness.free_port()
        read_dsn = f"host=127.0.0.1 port={rport} dbname=logs user=logship"
        collector = common.start_collector(cbin, collector_cfg(work, "withreplica", port, pg,
                                                               pg_extra=f"    read_dsn: \"{read_dsn}\"\n"),
                                           work, name="collector-replica")
        common.wait_healthy(cbin, port)
        logs = work / "replica-logs"
        logs.mkdir()
        (work / "replica-agent").mkdir()
        cfg_agent = common.write_agent_config(work / "replica-agent", port, str(logs / "*.log"), agent_id="replicated",
                                              extra="http: {listen: \"\"}\n")
        agent = harness.Proc([env["agent_bin"], "--config", cfg_agent], work, name="agent-replica")
        common.LineWriter(logs / "app.log").write(300)

        def on_replica():
            q = subprocess.run([harness.PSQL, "-X", "-At", "-h", "127.0.0.1", "-p", str(rport), "-U", "logship", "-d",
                                "logs", "-c", "SELECT count(*) FROM logs WHERE agent_id = 'replicated'"],
                               capture_output=True, text=True)
            return q.stdout.strip() == "300"
        harness.wait_until(on_replica, 30, what="the rows on the replica")
        assert subprocess.run([harness.PSQL, "-X", "-At", "-h", "127.0.0.1", "-p", str(rport), "-U", "logship", "-d",
                               "logs", "-c", "SELECT pg_is_in_recovery()"], capture_output=True,
                              text=True).stdout.strip() == "t"
        agent.terminate()
        collector.terminate()
    finally:
        run([pg.bindir / "pg_ctl", "-D", rdir / "data", "-m", "fast", "-w", "stop"])
        shutil.rmtree(rdir, ignore_errors=True)
    return "300 rows written through the collector read back from a pg_basebackup replica"


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-postgres")
    passed = 0
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        env = {"work": work, "pg": pg, "collector_bin": collector_bin, "agent_bin": agent_bin, "port": port}
        for case in (migrations,):
            print(f"ok {case.__name__}: {case(env)}")
            passed += 1
        env["collector"] = common.start_collector(collector_bin, collector_cfg(work, "main", port, pg), work)
        common.wait_healthy(collector_bin, port)

        def start_agent(logs, agent_id):
            d = work / f"agent-{agent_id}"
            d.mkdir()
            cfg = common.write_agent_config(d, port, str(logs / "*.log"), agent_id=agent_id, extra="http: {listen: \"\"}\n")
            return harness.Proc([agent_bin, "--config", cfg], work, name=f"agent-{agent_id}")

        def exact(agent_id, n):
            harness.wait_until(lambda: int(pg.scalar(f"SELECT count(*) FROM logs WHERE agent_id = '{agent_id}'")) >= n,
                               120, interval=0.5, what=f"{n} rows of {agent_id}")
            time.sleep(1)
            total, distinct = pg.query(f"SELECT count(*), count(DISTINCT body) FROM logs WHERE agent_id = '{agent_id}'")[0]
            assert int(total) == int(distinct) == n, (agent_id, total, distinct, n)

        env["agent"], env["exact"] = start_agent, exact
        only = os.environ.get("LOGSHIP_SCENARIO")
        for case in (restart_mid_stream, permission_error, dead_letters, unstorable_rows, retention_clock_jump,
                     by_host_retention_archive, replica):
            if only and case.__name__ != only:
                continue
            try:
                note = case(env)
            except BaseException:
                print(f"FAILED: {case.__name__}\n--- collector ---\n{env['collector'].log_tail(30)}", file=sys.stderr)
                for p in harness._procs[-2:]:
                    print(f"--- {p.name} ---\n{p.log_tail(20)}", file=sys.stderr)
                raise
            print(f"ok {case.__name__}: {note}")
            passed += 1
        assert env["collector"].terminate() == 0
    print(f"postgres: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
