"""The benchmarks' PostgreSQL: the integration tests' throwaway server, psql, row counts and
a long-lived psql session for polling."""

import contextlib
import pathlib
import subprocess
import sys

from bench_processes import tail

REPO = pathlib.Path(__file__).resolve().parents[2]
PG_COLUMNS = "id, ts, observed_ts, host, agent_id, source, severity, body, attributes, trace_id, correlation_id"
PG_SINK_METRIC = 'logship_collector_sink_records_total{sink="postgres"}'


@contextlib.contextmanager
def postgres():
    """The integration tests' throwaway server (same initdb and server options), stopped on exit."""
    sys.path.insert(0, str(REPO / "tests/integration"))
    import harness
    with harness.PostgresServer() as pg:
        yield pg


def pg_settings_note(pg):
    names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size")
    vals = {n: pg.scalar(f"SHOW {n}") for n in names}
    version = pg.scalar("SHOW server_version").split()[0]
    return (f"PostgreSQL {version}, started like tests/integration/harness.py (initdb -A trust, "
            f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off; other settings default): "
            + ", ".join(f"{k}={v}" for k, v in vals.items()))


def psql_cmd(pg, *args):
    sys.path.insert(0, str(REPO / "tests/integration"))
    import harness
    return [harness.PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(pg.port),
            "-U", "logship", "-d", "logs", *args]


def psql(pg, command):
    r = subprocess.run(psql_cmd(pg, "-c", command), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"psql failed: {command}\n{r.stderr.strip()}")
    return r.stdout


def count_rows(pg, table="logs"):
    out = psql(pg, f"SELECT CASE WHEN to_regclass('{table}') IS NULL THEN -1 ELSE 0 END").split()
    if out and out[-1] == "-1":  # created by the collector with its first batch
        return 0
    return int(pg.scalar(f"SELECT count(*) FROM {table}"))


def copy_ceiling(pg, work, rows):
    """The PostgreSQL ceiling for the rows the collector stored in `logs`: the same rows, one
    `psql \\copy` into an empty table of the same shape. Returns (rows/s, a note saying how)."""
    import time
    export = work / "rows.copy"
    psql(pg, f"\\copy (SELECT {PG_COLUMNS} FROM logs) TO '{export}'")
    parts = pg.query("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                     "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'logs'::regclass")
    ddl = ["DROP TABLE IF EXISTS logs_ceiling",
           "CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL) PARTITION BY RANGE (ts)"]
    ddl += [f"CREATE TABLE \"{name.replace('logs', 'logs_ceiling', 1)}\" PARTITION OF logs_ceiling {bound}"
            for name, bound in parts]
    psql(pg, "; ".join(ddl))
    psql(pg, "CHECKPOINT")
    t1 = time.monotonic()
    psql(pg, f"\\copy logs_ceiling ({PG_COLUMNS}) FROM '{export}'")
    wall = time.monotonic() - t1
    copied = count_rows(pg, "logs_ceiling")
    if copied != rows:
        raise RuntimeError(f"ceiling copied {copied} rows, expected {rows}")
    note = (f"ceiling = one `psql -c \"\\copy logs_ceiling FROM file\"` (one transaction) into "
            f"CREATE TABLE logs_ceiling (LIKE logs INCLUDING ALL) PARTITION BY RANGE (ts), i.e. UNIQUE (id, ts), "
            f"BRIN on ts, partial trace_id/correlation_id indexes, and logs' {len(parts)} partitions "
            f"(day partitions + default); CHECKPOINT before it.")
    return rows / wall, note


class PsqlSession:
    """One long-lived psql reading queries from a pipe (no connection set-up per query)."""

    def __init__(self, pg, log):
        self.errlog = open(log, "w")
        self.p = subprocess.Popen(psql_cmd(pg, "-At", "-F", "\t"), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.errlog, text=True, bufsize=1)
        self.log = log

    def query(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __logship_end__\n")
        self.p.stdin.flush()
        rows = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"psql session ended: {tail(self.log, 5)}")
            line = line.rstrip("\n")
            if line == "__logship_end__":
                return rows
            rows.append(line.split("\t"))

    def close(self):
        with contextlib.suppress(OSError):
            self.p.stdin.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.errlog.close()


def postgres_sink_yaml(pg):
    return "{postgres: {dsn: \"" + pg.dsn + "\", table: logs}}"
