"""A single Kafka broker in KRaft mode, and Kafka's own command-line tools run against it."""

import base64
import pathlib
import shutil
import subprocess
import uuid

from engine_process import Engine, engine_home, fetch_java, port_open, start_timeout
from harness import HarnessError, free_port


def _kafka_cluster_id():
    while True:  # as Kafka's Uuid.randomUuid(): never starting with '-' (CLI parsing)
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class KafkaBroker(Engine):
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
        self.home = engine_home("kafka", fetch)
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
        if not port_open(self.port):
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
