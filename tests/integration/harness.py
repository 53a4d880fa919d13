"""Helpers for logship integration tests: real processes and a throwaway PostgreSQL.

Standard library only. Everything started here is cleaned up at interpreter exit, even
when a test fails; LOGSHIP_KEEP_TMP=1 keeps make_workdir() directories for inspection.
"""

import argparse
import atexit
import glob
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PSQL = "/usr/bin/psql"

_procs = []        # every Proc started, for cleanup_all()
_servers = []      # PostgresServer instances not yet stopped
_workdirs = []     # make_workdir() results, removed at exit


class HarnessError(RuntimeError):
    """The test environment could not be set up (not a failure of logship itself)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.1, what="condition"):
    """Poll predicate() until it returns a truthy value (which is returned) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def _tail(path, n):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


class PostgresServer:
    """A throwaway PostgreSQL server on 127.0.0.1 with role `logship` and database `logs`.

    Use as a context manager; the server is stopped and its files removed on exit.
    As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
    """

    def __init__(self):
        found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if not found:
            raise HarnessError("no PostgreSQL server found under /usr/lib/postgresql")
        newest = max(found, key=lambda p: float(p.split("/")[4]))
        self.bindir = pathlib.Path(newest).parent
        self.as_root = os.geteuid() == 0
        self.tmpdir = None
        self.port = None
        self.dsn = None

    def start(self):
        """Create the cluster, start the server and create role + database."""
        self.tmpdir = pathlib.Path(tempfile.mkdtemp(prefix="logship-pg-", dir="/tmp"))
        _servers.append(self)
        if self.as_root:
            shutil.chown(self.tmpdir, user="postgres", group="postgres")
        self.datadir = self.tmpdir / "data"
        self.logfile = self.tmpdir / "postgres.log"
        base = ["-D", str(self.datadir), "-A", "trust", "-U", "postgres", "--encoding=UTF8"]
        if self._run([self.bindir / "initdb", *base, "--locale=C.UTF-8"], check=False).returncode:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self._run([self.bindir / "initdb", *base, "--locale=C"])
        for attempt in range(3):  # the port may be taken between free_port() and bind
            self.port = free_port()
            try:
                self.start_server()
                break
            except HarnessError:
                if attempt == 2:
                    raise
        self.dsn = f"host=127.0.0.1 port={self.port} dbname=logs user=logship"
        admin = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                 "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-c"]
        self._check(admin + ["CREATE ROLE logship LOGIN SUPERUSER"])
        self._check(admin + ["CREATE DATABASE logs OWNER logship"])
        return self

    def start_server(self):
        """Start the server process on the existing cluster (see stop_server)."""
        opts = (f"-p {self.port} -k {self.tmpdir} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        r = self._run([self.bindir / "pg_ctl", "-D", self.datadir, "-l", self.logfile,
                       "-w", "-t", "60", "-o", opts, "start"], check=False)
        if r.returncode:
            raise HarnessError(f"PostgreSQL failed to start (pg_ctl: {r.stdout.strip()})\n"
                               f"--- server log tail ---\n{_tail(self.logfile, 30)}")

    def stop_server(self):
        """Stop the server process but keep its data (simulates a sink outage)."""
        if self.tmpdir and (self.datadir / "postmaster.pid").exists():
            r = self._run([self.bindir / "pg_ctl", "-D", self.datadir, "-m", "fast",
                           "-w", "-t", "60", "stop"], check=False)
            if r.returncode:  # last resort: no server may outlive the test
                try:
                    pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
                except (OSError, ValueError, IndexError):
                    pass

    def restart(self):
        """Stop and start the server on the same port, keeping the data."""
        self.stop_server()
        self.start_server()

    def stop(self):
        """Stop the server and delete its files. Safe to call more than once."""
        if self.tmpdir is None:
            return
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
            if self in _servers:
                _servers.remove(self)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    def query(self, sql) -> list:
        """Run sql as `logship` on `logs`; rows as tuples of strings (NULL is '')."""
        r = self._check([PSQL, "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", str(self.port), "-U", "logship",
                         "-d", "logs", "-c", sql])
        return [tuple(line.split("\t")) for line in r.stdout.splitlines()]

    def scalar(self, sql) -> str:
        """First column of the first row of sql's result."""
        rows = self.query(sql)
        if not rows:
            raise HarnessError(f"query returned no rows: {sql}")
        return rows[0][0]

    def _run(self, cmd, check=True):
        cmd = [str(c) for c in cmd]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, cwd=self.tmpdir, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if check and r.returncode:
            raise HarnessError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}")
        return r

    def _check(self, cmd):
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode:
            raise HarnessError(f"psql failed ({r.returncode}): {r.stderr.strip()}")
        return r


class Proc:
    """A child process whose stdout and stderr go to `<log_dir>/<name>.log`."""

    def __init__(self, args, log_dir, name=None, env=None, cwd=None):
        self.args = [str(a) for a in args]
        self.name = name or pathlib.Path(self.args[0]).name
        self.log_path = pathlib.Path(log_dir) / f"{self.name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                          start_new_session=True)
        self.pid = self.popen.pid
        _procs.append(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def _killpg(self):
        try:  # the whole process group, so no grandchild outlives the test
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def kill9(self) -> int:
        """SIGKILL the process (a crash) and reap it; returns the exit code."""
        if self.alive():
            self._killpg()
        return self.popen.wait()

    def terminate(self, timeout=10) -> int:
        """SIGTERM, then SIGKILL after timeout seconds; returns the exit code."""
        if self.alive():
            self.popen.terminate()
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._killpg()
        return self.popen.wait()

    def rss_peak_kib(self):
        """Peak resident set size (VmHWM) in KiB, or None once the process is gone."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return None

    def log_tail(self, n=50) -> str:
        return _tail(self.log_path, n)


def cleanup_all():
    """SIGKILL every Proc still running (and its process group)."""
    for p in _procs:
        p.kill9()


def make_workdir(name) -> pathlib.Path:
    """A fresh temp directory, removed at exit unless LOGSHIP_KEEP_TMP=1."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-"))
    _workdirs.append(path)
    return path


def binaries_from_argv():
    """(agent, collector) paths from `--bin-dir DIR` on the command line."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--bin-dir")
    args, _ = parser.parse_known_args(sys.argv[1:])
    if not args.bin_dir:
        raise HarnessError("missing --bin-dir DIR (the CMake build directory)")
    bin_dir = pathlib.Path(args.bin_dir)
    agent = bin_dir / "agent" / "logship-agent"
    collector = bin_dir / "collector" / "logship-collector"
    for path in (agent, collector):
        if not os.access(path, os.X_OK):
            raise HarnessError(f"binary not found or not executable: {path}")
    return agent, collector


def _at_exit():
    cleanup_all()
    for server in list(_servers):
        server.stop()
    if os.environ.get("LOGSHIP_KEEP_TMP") == "1":
        for path in _workdirs:
            print(f"harness: kept {path}", file=sys.stderr)
    else:
        for path in _workdirs:
            shutil.rmtree(path, ignore_errors=True)


atexit.register(_at_exit)
