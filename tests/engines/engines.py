"""Real OpenSearch / Elasticsearch nodes and a real Kafka broker for tests, demos and benchmarks.

    import sys; sys.path.insert(0, "<repo>/tests/engines")
    import engines

    with engines.OpenSearchNode(settings={"thread_pool.write.queue_size": 1}) as es:
        status, body = es.request("PUT", "/logs-1/_doc/1?refresh=true", {"msg": "hi"})
        print(es.url, es.version, es.distribution)

    with engines.ElasticsearchNode() as es: ...

    with engines.KafkaBroker(partitions=3) as kafka:
        kafka.create_topic("logs", partitions=3)
        kafka.produce("logs", ["a", "b"])
        assert kafka.message_count("logs") == 2

Each engine runs on free 127.0.0.1 ports in a fresh temp directory, which is removed at
stop(); whatever is still running at interpreter exit is stopped and removed too, even when a
test fails (LOGSHIP_KEEP_TMP=1 keeps the directories). The binaries come from the cache that
tests/engines/fetch.py fills (fetched on first use unless fetch=False). Search engines refuse
to run as root, so as root they run as the system user `logship-engines` (created on demand;
`nobody` if that fails). Standard library only.

Environment: LOGSHIP_ENGINES_CACHE (cache folder), LOGSHIP_ENGINE_START_TIMEOUT (seconds,
default 240), LOGSHIP_ENGINES_JAVA_HOME (a JDK 17+; default Debian's OpenJDK 17),
LOGSHIP_{OPENSEARCH,ELASTICSEARCH,KAFKA}_VERSION (see fetch.py).
"""

import atexit
import base64
import contextlib
import json
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
import urllib.error
import urllib.request
import uuid

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "integration"))

import fetch  # noqa: E402
import harness  # noqa: E402
from harness import HarnessError, free_port, wait_until  # noqa: E402,F401

ENGINE_USER = "logship-engines"
_running = []  # started engines not yet stopped, for the exit handler


def start_timeout(default=240.0):
    return float(os.environ.get("LOGSHIP_ENGINE_START_TIMEOUT", default))


def available(engine) -> bool:
    """True when `engine` ("opensearch", "elasticsearch", "kafka") is in the cache."""
    return fetch.cached(engine) is not None and fetch.java17_home() is not None


def _home(engine, do_fetch):
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


def _chown_tree(root, uid, gid):
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, uid, gid)
        for name in filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def _port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class _Engine:
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


# ------------------------------------------------------------------------------------
# Search engines
# ------------------------------------------------------------------------------------

class _SearchNode(_Engine):
    engine = None        # "opensearch" / "elasticsearch" (fetch.py name)
    env_prefix = None    # OPENSEARCH / ES
    config_file = None

    def __init__(self, settings=None, heap="512m", gc="serial", timeout=None, fetch=True,
                 jvm_options=()):
        """settings: extra node settings (flat dotted keys; value None removes a default).
        heap: -Xms/-Xmx. gc: "serial" (light on 2 cores) or None for the distribution's G1.
        timeout: seconds to wait for yellow health (default LOGSHIP_ENGINE_START_TIMEOUT or 240).
        fetch: download into the cache if missing (else raise HarnessError)."""
        super().__init__()
        self.extra_settings = dict(settings or {})
        self.heap = heap
        self.gc = gc
        self.jvm_options = list(jvm_options)
        self.timeout = timeout if timeout is not None else start_timeout()
        self.home = _home(self.engine, fetch)
        self.http_port = None
        self.transport_port = None
        self.url = None
        self.version = None
        self.distribution = None
        self.info = None

    def _base_settings(self):
        return {
            "cluster.name": f"logship-test-{self.engine}",
            "node.name": "node-1",
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": self.http_port,
            "transport.port": self.transport_port,
            "path.data": str(self.tmpdir / "data"),
            "path.logs": str(self.tmpdir / "logs"),
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
        }

    def settings(self):
        merged = {**self._base_settings(), **self.extra_settings}
        return {k: v for k, v in merged.items() if v is not None}

    def _prepare(self):
        self.http_port, self.transport_port = free_port(), free_port()
        while self.transport_port == self.http_port:
            self.transport_port = free_port()
        conf = self.tmpdir / "config"
        if not conf.exists():
            shutil.copytree(self.home / "config", conf)
            for d in ("data", "logs", "tmp"):
                (self.tmpdir / d).mkdir()
        yml = "".join(f"{k}: {json.dumps(v)}\n" for k, v in self.settings().items())
        (conf / self.config_file).write_text("# written by tests/engines/engines.py\n" + yml)
        (conf / "jvm.options").write_text(self._jvm_options())
        self.url = f"http://127.0.0.1:{self.http_port}"
        if os.geteuid() == 0:
            uid, gid, _ = engine_user()
            _chown_tree(self.tmpdir, uid, gid)

    def _reset_for_retry(self):
        shutil.rmtree(self.tmpdir / "data", ignore_errors=True)
        (self.tmpdir / "data").mkdir()

    def _jvm_options(self):
        """The distribution's jvm.options without heap, GC and GC-log lines, plus ours."""
        keep = []
        for line in (self.home / "config" / "jvm.options").read_text().splitlines():
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            opt = s.split(":", 1)[1] if re.match(r"^\d+(-\d*)?:", s) else s
            if opt.startswith(("-Xms", "-Xmx", "-Xlog:gc", "-Xloggc", "-XX:+PrintGC",
                               "-XX:+PrintTenuring", "-XX:+UseGCLogFileRotation",
                               "-XX:NumberOfGCLogFiles", "-XX:GCLogFileSize")):
                continue
            if self.gc and re.search(r"G1|CMS|ConcMarkSweep|InitiatingHeapOccupancy", opt):
                continue
            keep.append(s)
        ours = [f"-Xms{self.heap}", f"-Xmx{self.heap}"]
        if self.gc == "serial":
            ours.append("-XX:+UseSerialGC")
        # No heap dumps (GBs in /tmp) and no /tmp/hsperfdata_<user> files.
        ours += ["-XX:-HeapDumpOnOutOfMemoryError", "-XX:-UsePerfData", *self.jvm_options]
        keep = [k for k in keep if "HeapDumpOnOutOfMemoryError" not in k]
        return "# written by tests/engines/engines.py\n" + "\n".join(keep + ours) + "\n"

    def _command(self):
        java_home = fetch.java17_home()
        p = self.env_prefix
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.tmpdir),
            "LANG": "C.UTF-8",
            f"{p}_JAVA_HOME": java_home,
            f"{p}_PATH_CONF": str(self.tmpdir / "config"),
            f"{p}_TMPDIR": str(self.tmpdir / "tmp"),
        }
        env.update(self._extra_env())
        argv = [str(self.home / "bin" / self.engine)]
        if os.geteuid() == 0:
            uid, gid, _ = engine_user()
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"] + argv
        return argv, env, str(self.tmpdir)

    def _extra_env(self):
        # Elasticsearch's launcher JVM (opensearch has none): no /tmp/hsperfdata_<user>.
        return {"CLI_JAVA_OPTS": "-XX:-UsePerfData"}

    def _ready(self):
        status, body = self.request("GET", "/_cluster/health?wait_for_status=yellow&timeout=2s",
                                    timeout=5)
        if status != 200 or body.get("status") not in ("yellow", "green"):
            return False
        status, info = self.request("GET", "/", timeout=5)
        if status == 200:
            self.info = info
            self.version = info["version"]["number"]
            self.distribution = info["version"].get("distribution", "elasticsearch")
            return True
        # Elasticsearch 8's integ-test zip lacks the rest-root module: GET / is a 405 there.
        status, nodes = self.request("GET", "/_nodes/_local?filter_path=nodes.*.version",
                                     timeout=5)
        if status != 200:
            return False
        self.info = None
        self.version = next(iter(nodes["nodes"].values()))["version"]
        self.distribution = self.engine
        return True

    def _log_tail(self, n=40):
        """The console log, or the engine's own log file when that says more."""
        out = super()._log_tail(n)
        if self.tmpdir:
            for f in sorted((self.tmpdir / "logs").glob("*.log")):
                if re.search(r"(deprecation|slowlog|task_detailslog|audit|gc)\.log$", f.name) \
                        or f.stat().st_size == 0:
                    continue
                out += f"\n--- {f.name} tail ---\n" + harness._tail(f, n)
        return out

    # -- HTTP ---------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30):
        """HTTP request to the node. body: dict/list (sent as JSON), str/bytes (sent as is;
        NDJSON when the path is a _bulk/_msearch one). Returns (status, parsed JSON or text)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            else:
                data = body.encode() if isinstance(body, str) else body
                bulk = re.search(r"/_(bulk|msearch)\b", path)
                hdrs.setdefault("Content-Type",
                                "application/x-ndjson" if bulk else "application/json")
        if not path.startswith("/"):
            path = "/" + path
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def refresh(self, index="_all"):
        return self.request("POST", f"/{index}/_refresh")

    def count(self, index, query=None):
        """Number of documents in index (refreshed first)."""
        self.refresh(index)
        status, body = self.request("POST", f"/{index}/_count",
                                    {"query": query} if query else None)
        if status != 200:
            raise HarnessError(f"_count on {index} failed ({status}): {body}")
        return body["count"]

    def plugins(self):
        status, body = self.request("GET", "/_cat/plugins?format=json")
        return sorted({p["component"] for p in body}) if status == 200 else []


class OpenSearchNode(_SearchNode):
    """A single-node OpenSearch 2.19 (integration-test distribution: core + transport-netty4,
    plus the ISM plugins when fetch.py could install them)."""

    name = "opensearch"
    engine = "opensearch"
    env_prefix = "OPENSEARCH"
    config_file = "opensearch.yml"

    def _base_settings(self):
        s = super()._base_settings()
        if (self.home / "plugins" / "opensearch-security").exists():
            s["plugins.security.disabled"] = True
        return s


class ElasticsearchNode(_SearchNode):
    """A single-node Elasticsearch 8 (integration-test distribution: core, transport-netty4,
    x-pack-core, x-pack-security (disabled here), apm). Missing modules, so missing APIs:
    GET / (405: rest-root), _ilm/* (400), _data_stream/* (data streams themselves work, made
    by an index template on first write), ingest processors, ML, painless."""

    name = "elasticsearch"
    engine = "elasticsearch"
    env_prefix = "ES"
    config_file = "elasticsearch.yml"

    def _base_settings(self):
        s = super()._base_settings()
        s["xpack.security.enabled"] = False
        return s


# ------------------------------------------------------------------------------------
# Kafka
# ------------------------------------------------------------------------------------

def _kafka_cluster_id():
    while True:  # as Kafka's Uuid.randomUuid(): never starting with '-' (CLI parsing)
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaBroker(_Engine):
    """A single Kafka 4 node in KRaft mode (combined broker + controller) on 127.0.0.1.

    bootstrap: "127.0.0.1:PORT". The tool methods run Kafka's own command-line classes
    (TopicCommand, GetOffsetShell, ConsoleProducer/Consumer, ProducerPerformance) from the
    cached classpath; each is a short JVM (about 1-3 s)."""

    name = "kafka"

    def __init__(self, partitions=1, auto_create_topics=True, settings=None, heap="256m",
                 timeout=None, fetch=True):
        super().__init__()
        self.partitions = partitions
        self.auto_create_topics = auto_create_topics
        self.extra_settings = dict(settings or {})
        self.heap = heap
        self.timeout = timeout if timeout is not None else start_timeout(120)
        self.home = _home("kafka", fetch)
        self.java = str(pathlib.Path(fetch_java()) / "bin" / "java")
        self.port = None
        self.controller_port = None
        self.bootstrap = None
        self.cluster_id = None

    @property
    def classpath(self):
        return str(self.home / "libs" / "*")

    def _jvm(self, heap, log_level, light=False):
        opts = [self.java, f"-Xms{heap}" if not light else "-Xms32m", f"-Xmx{heap}",
                "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.home / 'config' / 'log4j2.properties'}",
                f"-Dlogship.kafka.loglevel={log_level}"]
        if light:  # short-lived tools: start fast, never mind peak speed
            opts += ["-XX:TieredStopAtLevel=1", "-Xshare:auto"]
        return opts + ["-cp", self.classpath]

    def settings(self):
        s = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.tmpdir / "data"),
            "num.partitions": self.partitions,
            "auto.create.topics.enable": str(bool(self.auto_create_topics)).lower(),
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "transaction.state.log.num.partitions": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            # After kill9() the restarted broker cannot register until the old registration
            # expires (DUPLICATE_BROKER_REGISTRATION): 6 s instead of 9 s, still safe on a
            # loaded 2-core machine.
            "broker.session.timeout.ms": 6000,
            "broker.heartbeat.interval.ms": 1500,
            "num.network.threads": 2,
            "num.io.threads": 4,
            "log.retention.check.interval.ms": 300000,
        }
        s.update(self.extra_settings)
        return {k: v for k, v in s.items() if v is not None}

    def _prepare(self):
        self.port, self.controller_port = free_port(), free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        props = self.tmpdir / "server.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in self.settings().items()))
        shutil.rmtree(self.tmpdir / "data", ignore_errors=True)
        self.cluster_id = _kafka_cluster_id()
        r = subprocess.run(self._jvm("128m", "WARN", light=True)
                           + ["kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                              "-c", str(props)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        if r.returncode:
            raise HarnessError(f"kafka StorageTool format failed ({r.returncode}):\n{r.stdout}")

    def _command(self):
        argv = self._jvm(self.heap, "INFO") + ["kafka.Kafka", str(self.tmpdir / "server.properties")]
        return argv, None, str(self.tmpdir)

    _RESTART_MARK = "--- engines.py: restarting ---"

    def _ready(self):
        if not _port_open(self.port):
            return False
        since_last_start = self.proc.log_tail(2000).rsplit(self._RESTART_MARK, 1)[-1]
        return "Kafka Server started" in since_last_start

    def start_process(self):
        # The log is appended to across restarts: only a new "started" line counts.
        if self.proc is not None and self.proc.log_path.exists():
            with open(self.proc.log_path, "a") as f:
                f.write(self._RESTART_MARK + "\n")
        return super().start_process()

    # -- tools ------------------------------------------------------------------------
    def run_tool(self, cls, *args, input=None, timeout=120, check=True):
        """Run a Kafka command-line class from the cached classpath; CompletedProcess."""
        cmd = self._jvm("256m", "WARN", light=True) + [cls, *[str(a) for a in args]]
        r = subprocess.run(cmd, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and r.returncode:
            raise HarnessError(f"{cls} {' '.join(map(str, args))} failed ({r.returncode}):\n"
                               f"{r.stderr[-3000:]}{r.stdout[-2000:]}")
        return r

    def create_topic(self, name, partitions=None, config=None):
        """Create a topic (replication factor 1); config: dict of topic configs."""
        args = ["--bootstrap-server", self.bootstrap, "--create", "--topic", name,
                "--partitions", partitions or self.partitions, "--replication-factor", 1]
        for k, v in (config or {}).items():
            args += ["--config", f"{k}={v}"]
        self.run_tool("org.apache.kafka.tools.TopicCommand", *args)

    def topics(self):
        r = self.run_tool("org.apache.kafka.tools.TopicCommand",
                          "--bootstrap-server", self.bootstrap, "--list")
        return [t for t in r.stdout.split() if t]

    def offsets(self, topic, time_spec=-1):
        """{partition: offset} of topic; time_spec -1 = end (latest), -2 = earliest."""
        r = self.run_tool("org.apache.kafka.tools.GetOffsetShell",
                          "--bootstrap-server", self.bootstrap, "--topic", topic,
                          "--time", time_spec)
        out = {}
        for line in r.stdout.splitlines():
            parts = line.strip().rsplit(":", 2)
            if len(parts) == 3 and parts[1].isdigit():
                out[int(parts[1])] = int(parts[2]) if parts[2].lstrip("-").isdigit() else 0
        return out

    def message_count(self, topic):
        """Records in topic: sum over partitions of end - earliest offset (exact for a
        non-transactional topic, which is what logship writes)."""
        end = self.offsets(topic, -1)
        start = self.offsets(topic, -2)
        return sum(end.values()) - sum(start.get(p, 0) for p in end)

    def produce(self, topic, lines, key_separator=None, props=None):
        """Send each line as one record with the console producer (acks=all)."""
        args = ["--bootstrap-server", self.bootstrap, "--topic", topic,
                "--producer-property", "acks=all"]
        if key_separator is not None:
            args += ["--property", "parse.key=true", "--property", f"key.separator={key_separator}"]
        for k, v in (props or {}).items():
            args += ["--producer-property", f"{k}={v}"]
        self.run_tool("org.apache.kafka.tools.ConsoleProducer", *args,
                      input="".join(f"{ln}\n" for ln in lines))

    def consume(self, topic, max_messages, timeout_ms=20000, print_key=False):
        """Up to max_messages record values (or "key<TAB>value") from the beginning."""
        args = ["--bootstrap-server", self.bootstrap, "--topic", topic, "--from-beginning",
                "--max-messages", max_messages, "--timeout-ms", timeout_ms]
        if print_key:
            args += ["--property", "print.key=true"]
        r = self.run_tool("org.apache.kafka.tools.consumer.ConsoleConsumer", *args, check=False,
                          timeout=timeout_ms / 1000 + 60)
        return r.stdout.splitlines()

    def producer_perf(self, topic, num_records, record_size=200, throughput=-1, props=None):
        """Kafka's ProducerPerformance (for benchmarks); returns its stdout."""
        args = ["--topic", topic, "--num-records", num_records, "--record-size", record_size,
                "--throughput", throughput, "--producer-props", f"bootstrap.servers={self.bootstrap}"]
        args += [f"{k}={v}" for k, v in (props or {}).items()]
        return self.run_tool("org.apache.kafka.tools.ProducerPerformance", *args,
                             timeout=600).stdout


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


def main(argv=None):
    """Run one engine in the foreground until Ctrl-C / SIGTERM (for demos and benchmarks):

        python3 tests/engines/engines.py opensearch|elasticsearch|kafka [--set KEY=VALUE ...]
                 [--heap 512m] [--seconds N]

    Prints one line `READY url=http://127.0.0.1:PORT version=... pid=...` (search engines) or
    `READY bootstrap=127.0.0.1:PORT ...` (Kafka) when the engine is ready, then waits."""
    import argparse
    import signal

    ap = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    ap.add_argument("engine", choices=["opensearch", "elasticsearch", "kafka"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra node setting (search engines) or server property (Kafka)")
    ap.add_argument("--heap", help="JVM heap (default 512m for search engines, 256m for Kafka)")
    ap.add_argument("--partitions", type=int, default=1, help="Kafka num.partitions")
    ap.add_argument("--seconds", type=float, help="stop after this many seconds")
    args = ap.parse_args(argv)
    settings = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set wants KEY=VALUE, got {item!r}")
        try:
            settings[key] = json.loads(value)  # numbers, booleans; anything else stays text
        except ValueError:
            settings[key] = value
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    kwargs = {"settings": settings}
    if args.heap:
        kwargs["heap"] = args.heap
    if args.engine == "kafka":
        engine = KafkaBroker(partitions=args.partitions, **kwargs)
    else:
        engine = (OpenSearchNode if args.engine == "opensearch" else ElasticsearchNode)(**kwargs)
    try:
        with engine:
            if args.engine == "kafka":
                where = f"bootstrap={engine.bootstrap}"
            else:
                where = f"url={engine.url} version={engine.version}"
            print(f"READY {where} pid={engine.proc.pid} start_seconds={engine.start_seconds:.1f} "
                  f"dir={engine.tmpdir}", flush=True)
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while engine.alive() and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.5)
            if not engine.alive():
                print(f"{args.engine} exited\n{engine._log_tail()}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    except HarnessError as e:
        print(f"engines: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
