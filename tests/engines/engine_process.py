"""What every engine shares: the cache and the JDK, the unprivileged user search engines run
as, and the life cycle of the server process (temp dir, start until ready, stop, kill,
restart), with whatever is still running stopped and removed at interpreter exit."""

import atexit
import contextlib
import os
import pathlib
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "integration"))

import fetch  # noqa: E402
import harness  # noqa: E402
from harness import HarnessError  # noqa: E402

ENGINE_USER = "logship-engines"
_running = []  # started engines not yet stopped, for the exit handler


def start_timeout(default=240.0):
    return float(os.environ.get("LOGSHIP_ENGINE_START_TIMEOUT", default))


def available(engine) -> bool:
    """True when `engine` ("opensearch", "elasticsearch", "kafka") is in the cache."""
    return fetch.cached(engine) is not None and fetch.java17_home() is not None


def engine_home(engine, do_fetch):
    if fetch.java17_home() is None:
        raise HarnessError("no JDK 17 found (apt-get install openjdk-17-jdk-headless, "
                           "or set LOGSHIP_ENGINES_JAVA_HOME)")
    if fetch.cached(engine):
        return fetch.home(engine)
    if not do_fetch:
        raise HarnessError(f"{engine} is not in the cache {fetch.cache_dir()}: "
                           f"run python3 tests/engines/fetch.py {engine}")
    try:
        return fetch.ensure(engine)
    except fetch.FetchError as e:
        raise HarnessError(f"could not fetch {engine}: {e}") from None


def engine_user():
    """(uid, gid, name) of the unprivileged user the search engines run as when we are root."""
    try:
        pw = pwd.getpwnam(ENGINE_USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            "--comment", "logship test search engines", ENGINE_USER],
                           capture_output=True, text=True)
        try:
            pw = pwd.getpwnam(ENGINE_USER)
        except KeyError:  # useradd missing or refused (e.g. a read-only /etc)
            print(f"engines: useradd {ENGINE_USER} failed ({r.stderr.strip()}); using nobody",
                  file=sys.stderr)
            pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid, pw.pw_name


def chown_tree(root, uid, gid):
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, gid)
        for name in filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Engine:
    """Common life cycle: temp dir, Proc, stop/kill/restart, cleanup at exit."""

    name = "engine"

    def __init__(self):
        self.tmpdir = None
        self.proc = None
        self.start_seconds = None  # wall time of the last start_process(), for reports

    # -- to override -------------------------------------------------------------------
    def _prepare(self):
        """Create files in self.tmpdir and choose ports (called once per start())."""

    def _command(self):
        """(argv, env, cwd) of the server process."""
        raise NotImplementedError

    def _ready(self):
        raise NotImplementedError

    def _stop_grace(self):
        return 30

    # -- life cycle --------------------------------------------------------------------
    def start(self):
        self.tmpdir = pathlib.Path(tempfile.mkdtemp(prefix=f"logship-{self.name}-"))
        _running.append(self)
        for attempt in range(3):  # a free_port() may be taken before the engine binds it
            self._prepare()
            try:
                self.start_process()
                return self
            except HarnessError as e:
                if attempt == 2 or "Address already in use" not in str(e):
                    raise
                self._reset_for_retry()
        return self

    def _reset_for_retry(self):
        pass

    def start_process(self):
        """Start the server process (again) on the existing files and ports; wait until ready."""
        if self.proc is not None and self.proc.alive():
            return
        argv, env, cwd = self._command()
        t0 = time.monotonic()
        self.proc = harness.Proc(argv, self.tmpdir, name=self.name, env=env, cwd=cwd)
        deadline = t0 + self.timeout
        while True:
            if not self.proc.alive():
                tail = self._log_tail()
                raise HarnessError(f"{self.name} exited with {self.proc.popen.returncode} "
                                   f"during start-up{self._cause(tail)}\n{tail}")
            try:
                if self._ready():
                    break
            except OSError:
                pass
            if time.monotonic() >= deadline:
                tail = self._log_tail()
                self.proc.kill9()
                raise HarnessError(f"{self.name} not ready after {self.timeout:.0f}s"
                                   f"{self._cause(tail)}\n{tail}")
            time.sleep(0.25)
        self.start_seconds = time.monotonic() - t0
        return self

    def stop_process(self):
        """Stop the server gracefully (SIGTERM, then SIGKILL), keeping its data."""
        if self.proc is not None:
            self.proc.terminate(self._stop_grace())

    def kill9(self):
        """SIGKILL the server (a crash); start_process() brings it back on the same data."""
        if self.proc is not None:
            return self.proc.kill9()
        return None

    def restart(self):
        """Graceful stop and start on the same ports and data."""
        self.stop_process()
        self.start_process()
        return self

    def stop(self):
        """Stop the server and delete its files. Safe to call more than once."""
        if self.tmpdir is None:
            return
        try:
            self.stop_process()
        finally:
            if os.environ.get("LOGSHIP_KEEP_TMP") == "1":
                print(f"engines: kept {self.tmpdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            # Launcher JVMs we cannot pass -XX:-UsePerfData to leave an empty directory.
            with contextlib.suppress(OSError):
                os.rmdir(f"/tmp/hsperfdata_{ENGINE_USER}")
            self.tmpdir = None
            if self in _running:
                _running.remove(self)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def rss_peak_kib(self):
        """Peak RSS (VmHWM, KiB) of the largest process of the server's process group
        (Elasticsearch runs a launcher JVM and the server JVM), or None when gone."""
        if self.proc is None or not self.proc.alive():
            return None
        peak = 0
        for stat_path in pathlib.Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat_path.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) != self.proc.pid:  # fields[2] is the process group
                    continue
                for line in open(stat_path.parent / "status"):
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                continue
        return peak or None

    def _log_tail(self, n=40):
        return f"--- {self.name} log tail ---\n" + (self.proc.log_tail(n) if self.proc else "")

    @staticmethod
    def _cause(tail):
        """The most telling line of a log tail (the innermost exception), for the headline."""
        found = [ln.strip() for ln in tail.splitlines()
                 if re.search(r"(Exception|Error)(: |$)", ln) and not ln.lstrip().startswith("at ")]
        causes = [ln for ln in found if ln.startswith("Caused by:")]
        line = (causes or found or [""])[-1]
        return f": {line[:400]}" if line else ""


def fetch_java():
    j = fetch.java17_home()
    if j is None:
        raise HarnessError("no JDK 17 found (apt-get install openjdk-17-jdk-headless)")
    return j


def _at_exit():
    for engine in list(_running):
        try:  # no graceful shutdown at exit: the data is thrown away anyway
            engine.kill9()
            engine.stop()
        except Exception as e:  # never let one failure keep the others running
            print(f"engines: stopping {engine.name} failed: {e}", file=sys.stderr)


atexit.register(_at_exit)
