"""The pieces of tests/integration/test_kafka.py: agents, edge and indexer collectors around a real
Kafka broker (tests/engines), their metrics and health, and the broker's own view of a topic and a
consumer group (ConsumerGroupCommand, and the messages read back from its segment files)."""

import gzip
import os
import pathlib
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

import common
import harness

REPO = pathlib.Path(__file__).resolve().parents[2]
PARTITIONS = 6
# Under both librdkafka's consistent_random (crc32) and Java's murmur2 partitioner these four
# keys land on four different partitions of six, spread over both halves (range assignor)
# and over even and odd partitions (round robin), so two indexers both get work.
AGENT_IDS = ["alpha", "bravo", "charlie", "delta"]
# With these two (crc32: partitions 2 and 3) every one of the six partitions carries lines.
SIX_IDS = AGENT_IDS + ["echo", "golf"]
IDENT = 'level=info msg="the same line on every agent, again and again"'
ENCODING_HEADERS = {"logship-encoding": b"logship.v1.Batch+zstd", "logship-encoding-version": b"1"}
FORWARDED_HEADERS = {"logship-encoding": b"logship.v1.ForwardedFrame", "logship-encoding-version": b"2"}
# Indexers: a dead member's partitions move after 6 s (the broker's minimum), not librdkafka's
# 45 s; and reconnects after a broker restart are tried at least every second.
CONSUMER_PROPERTIES = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000",
                       "reconnect.backoff.max.ms": "1000"}


# -- metrics and health -------------------------------------------------------------------
def metrics_text(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def metric_series(port, name, text=None):
    """{label string: value} of every series of metric `name` (labels "" when none)."""
    text = metrics_text(port) if text is None else text
    return {m.group(1) or "": float(m.group(2))
            for m in re.finditer(r"^" + re.escape(name) + r"(?:\{([^}]*)\})? (\S+)$", text, re.M)}


def metric(port, name, **labels):
    """Sum of the series of `name` whose labels include `labels`; None when there is none."""
    want = [f'{k}="{v}"' for k, v in labels.items()]
    values = [v for lbl, v in metric_series(port, name).items() if all(w in lbl for w in want)]
    return sum(values) if values else None


def probe(collector_bin, port, service="logship.v1.Ingest"):
    return subprocess.run([str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}",
                           "--service", service, "--timeout-ms", "1000"], capture_output=True).returncode


def healthz(http_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=3) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


# -- the broker's view -------------------------------------------------------------------
def _group_tool(broker, *args):
    return broker.run_tool("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
                           "--bootstrap-server", broker.bootstrap, "--describe", *args, check=False)


def group_offsets(broker, group, topic):
    """{partition: (committed offset or None, log end offset)} as the broker sees the group."""
    out = {}
    for line in _group_tool(broker, "--group", group).stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0] == group and f[1] == topic and f[2].isdigit():
            out[int(f[2])] = (int(f[3]) if f[3].isdigit() else None, int(f[4]) if f[4].isdigit() else 0)
    return out


def group_lag(broker, group, topic):
    """Messages of `topic` the group has not committed (the topic is new: it starts at 0)."""
    offsets = group_offsets(broker, group, topic)
    return sum(end - (committed or 0) for committed, end in offsets.values()) if offsets else None


def group_members(broker, group):
    """[(consumer id, partitions assigned)] of the group's live members."""
    members = []
    for line in _group_tool(broker, "--group", group, "--members").stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == group and f[-1].isdigit():
            members.append((f[1], int(f[-1])))
    return members


def group_assignment(broker, group, topic):
    """{consumer id: set of partitions of `topic`} of the group's live members (--verbose)."""
    out = {}
    for line in _group_tool(broker, "--group", group, "--members", "--verbose").stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == group and f[4].isdigit():
            held = re.search(re.escape(topic) + r":([\d,]+)", line)  # CURRENT-ASSIGNMENT topic:0,1
            out[f[1]] = {int(x) for x in held.group(1).split(",")} if held else set()
    return out


def members_holding(broker, group, n, topic=None):
    """The group's members when there are exactly n and every one holds partitions (with
    `topic`: their assignments also split its PARTITIONS partitions, each held once), else None."""
    if topic is None:
        members = group_members(broker, group)
        return members if len(members) == n and all(k > 0 for _, k in members) else None
    held = group_assignment(broker, group, topic)
    parts = [q for ps in held.values() for q in ps]
    ok = len(held) == n and all(held.values()) and sorted(parts) == list(range(PARTITIONS))
    return held if ok else None


def _varint(buf, pos):
    """A zigzag varint of Kafka's record format v2; (value, next position)."""
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def _bytes(buf, pos):
    n, pos = _varint(buf, pos)
    return (None, pos) if n < 0 else (buf[pos:pos + n], pos + n)


def zstd_decompress(data):
    r = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True)
    if r.returncode:
        raise AssertionError(f"not a zstd frame: {r.stderr.decode().strip()} (first bytes {data[:8].hex()})")
    return r.stdout


def kafka_messages(broker, topic):
    """Every message of `topic`, read from the broker's segment files (record batch format
    v2): dicts with partition, offset, key, value, headers. Control batches are skipped."""
    messages = []
    for pdir in sorted((broker.tmpdir / "data").glob(f"{topic}-*")):
        partition = int(pdir.name.rsplit("-", 1)[1])
        for segment in sorted(pdir.glob("*.log")):
            data, pos = segment.read_bytes(), 0
            while pos + 61 <= len(data):
                base_offset, length = struct.unpack_from(">qi", data, pos)
                end = pos + 12 + length
                if length <= 0 or end > len(data):
                    break  # a batch still being appended
                assert data[pos + 16] == 2, f"record batch magic {data[pos + 16]} in {segment}"
                attributes, = struct.unpack_from(">h", data, pos + 21)
                count, = struct.unpack_from(">i", data, pos + 57)
                records, codec = data[pos + 61:end], attributes & 7
                if codec == 1:
                    records = gzip.decompress(records)
                elif codec == 4:
                    records = zstd_decompress(records)
                elif codec:
                    raise AssertionError(f"record batch compression {codec} (lz4/snappy): not read by this test")
                if not attributes & 0x20:  # not a control batch (transaction markers)
                    rpos = 0
                    for _ in range(count):
                        size, rpos = _varint(records, rpos)
                        rec_end = rpos + size
                        _, p = _varint(records, rpos + 1)          # attributes (1 byte), timestamp delta
                        offset_delta, p = _varint(records, p)
                        key, p = _bytes(records, p)
                        value, p = _bytes(records, p)
                        n_headers, p = _varint(records, p)
                        headers = {}
                        for _ in range(n_headers):
                            hk, p = _bytes(records, p)
                            hv, p = _bytes(records, p)
                            headers[hk.decode()] = hv
                        messages.append({"partition": partition, "offset": base_offset + offset_delta,
                                         "key": key, "value": value, "headers": headers})
                        rpos = rec_end
                pos = end
    return messages


_stubs = None


def stubs():
    """logship.v1 record, ingest and kafka protos for Python (grpc_tools, python3-grpc-tools)."""
    global _stubs
    if _stubs is None:
        out = harness.make_workdir("logship-kafka-stubs")
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{REPO / 'proto'}", f"--python_out={out}",
                        "logship/v1/record.proto", "logship/v1/ingest.proto", "logship/v1/kafka.proto"],
                       check=True, cwd=REPO / "proto")
        sys.path.insert(0, str(out))
        from logship.v1 import kafka_pb2, record_pb2
        _stubs = (record_pb2, kafka_pb2)
    return _stubs


def decode_message(message):
    """(version, the logship.v1.Batch in a message), after checking the documented encoding of
    either version. A version 2 batch is the agent's: its records carry offsets, not ids yet."""
    record_pb2, kafka_pb2 = stubs()
    batch = record_pb2.Batch()
    if message["headers"] == FORWARDED_HEADERS:
        forwarded = kafka_pb2.ForwardedFrame()
        forwarded.ParseFromString(message["value"])
        frame = forwarded.frame
        assert message["key"] == frame.agent_id.encode(), f"key {message['key']!r}, frame agent_id {frame.agent_id!r}"
        raw = zstd_decompress(frame.payload)
        assert len(raw) == frame.uncompressed_bytes, f"{len(raw)} bytes, frame says {frame.uncompressed_bytes}"
        batch.ParseFromString(raw)
        assert len(batch.records) == frame.record_count, f"{len(batch.records)} records, frame says {frame.record_count}"
        return 2, batch
    assert message["headers"] == ENCODING_HEADERS, f"message headers {message['headers']}"
    batch.ParseFromString(zstd_decompress(message["value"]))
    assert message["key"] == batch.agent_id, f"key {message['key']!r}, batch agent_id {batch.agent_id!r}"
    bad = [r.id.hex() for r in batch.records if len(r.id) != 16]
    assert not bad, f"{len(bad)} of {len(batch.records)} records without a 16-byte id in {message['key']!r}"
    return 1, batch


# -- processes ---------------------------------------------------------------------------
class Agent:
    """One logship-agent with the shipped defaults (start_at: end) tailing its own logs/*.log."""

    def __init__(self, t, work, agent_id, port, extra=""):
        self.t, self.id = t, agent_id
        self.dir = work / agent_id
        self.logs = self.dir / "logs"
        self.logs.mkdir(parents=True)
        self.http = harness.free_port()
        self.cfg = self.dir / "agent.yaml"
        self.cfg.write_text(
            f"agent_id: {agent_id}\n"
            f"data_dir: {self.dir / 'data'}\n"
            "sources:\n"
            "  - type: file\n"
            f"    include: [\"{self.logs}/*.log\"]\n"
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 1s\n"
            f"http: {{listen: 127.0.0.1:{self.http}}}\n" + extra)
        self.proc = harness.Proc([t.agent_bin, "--config", self.cfg], work, name=f"agent-{agent_id}")
        self.seqs = self.idents = 0
        self.file = None

    def wait_started(self):
        harness.wait_until(lambda: "started" in self.proc.log_tail(200) or not self.proc.alive(), 20,
                           what=f"agent {self.id} started")
        assert self.proc.alive(), f"agent {self.id} exited:\n{self.proc.log_tail(30)}"

    def write(self, n, noise=False):
        """Append n lines: every fifth is IDENT, the others `seq=N agent=ID ...` numbered from 1."""
        if self.file is None:  # created after the agent started: read from its start
            self.file = open(self.logs / "app.log", "a", buffering=1 << 20)
        out = []
        for _ in range(n):
            if (self.seqs + self.idents + 1) % 5 == 0:
                self.idents += 1
                out.append(IDENT + "\n")
            else:
                self.seqs += 1
                tail = os.urandom(48).hex() if noise else "x" * 60
                out.append(f"seq={self.seqs:08d} agent={self.id} level=info msg=\"through kafka\" {tail}\n")
        self.file.write("".join(out))
        self.file.flush()

    @property
    def lines(self):
        return self.seqs + self.idents

    def metric(self, name):
        return metric(self.http, name)

    def spool(self):
        """(records spooled in all, spooled batches not yet acknowledged), from one scrape."""
        text = metrics_text(self.http)
        return tuple(metric_series(self.http, n, text).get("")
                     for n in ("logship_agent_records_spooled_total", "logship_agent_spool_frames"))


class Collector:
    def __init__(self, t, work, name, body):
        self.t, self.name = t, name
        self.port, self.http = harness.free_port(), harness.free_port()
        self.cfg = work / f"{name}.yaml"
        self.cfg.write_text(f"listen: 127.0.0.1:{self.port}\n"
                            f"http: {{listen: 127.0.0.1:{self.http}}}\n"
                            f"data_dir: {work / (name + '-data')}\n"
                            "health: {check_interval: 200ms, unhealthy_after: 1s}\n" + body)
        self.proc = common.start_collector(t.collector_bin, self.cfg, work, name=name)

    def wait_healthy(self, timeout=30):
        """The process serves gRPC (the "" service); fails at once if it exited."""
        serving = lambda: probe(self.t.collector_bin, self.port, "") == 0  # noqa: E731
        try:
            harness.wait_until(lambda: not self.proc.alive() or serving(), timeout, interval=0.2,
                               what=f"{self.name} serving")
        except TimeoutError:
            pass
        if not self.proc.alive() or not serving():
            raise AssertionError(f"{self.name} not serving"
                                 f"{'' if self.proc.alive() else f' (exit {self.proc.popen.returncode})'}:\n"
                                 f"{self.proc.log_tail(30)}")

    def metric(self, name, **labels):
        return metric(self.http, name, **labels)


def _props(props, indent="    "):
    if not props:
        return ""
    return f"{indent}properties:\n" + "".join(f"{indent}  {k}: \"{v}\"\n" for k, v in props.items())


def edge_yaml(bootstrap, topic=None, extra="", props=None):
    return ("sinks:\n  kafka:\n"
            f"    brokers: [\"{bootstrap}\"]\n" + (f"    topic: {topic}\n" if topic else "") + extra + _props(props))


def indexer_yaml(bootstrap, pg, table, topic=None, group=None, props=None):
    return ("inputs:\n  kafka:\n"
            f"    brokers: [\"{bootstrap}\"]\n" + (f"    topic: {topic}\n" if topic else "") +
            (f"    group: {group}\n" if group else "") + _props(props) +
            "sinks:\n  postgres:\n"
            f"    dsn: \"{pg.dsn}\"\n"
            f"    table: {table}\n")


class Pipeline:
    """Four agents → one edge collector → a topic → indexers in one group → a table of its own."""

    def __init__(self, t, name, topic=None, group=None, indexers=2, edge_extra="", edge_props=None,
                 agent_ids=AGENT_IDS, agent_extra="", create_topic=True):
        self.t, self.name = t, name
        self.work = harness.make_workdir(f"logship-kafka-{name}")
        self.topic = topic or "logship.records"
        self.group = group or "logship-indexers"
        self.table = f"kafka_{name}"
        self._topic_key, self._group_key = topic, group  # None: the collector's default
        if create_topic:
            t.broker.create_topic(self.topic, partitions=PARTITIONS)
        self.edge = Collector(t, self.work, "edge", edge_yaml(t.broker.bootstrap, topic, edge_extra, edge_props))
        self.edge.wait_healthy()
        self.indexers = []
        for _ in range(indexers):
            self.add_indexer()
        for ix in self.indexers:
            ix.wait_healthy()
        self.agents = [Agent(t, self.work, a, self.edge.port, agent_extra) for a in agent_ids]
        for a in self.agents:
            a.wait_started()

    def add_indexer(self):
        ix = Collector(self.t, self.work, f"indexer{len(self.indexers) + 1}",
                       indexer_yaml(self.t.broker.bootstrap, self.t.pg, self.table, self._topic_key,
                                    self._group_key, CONSUMER_PROPERTIES))
        self.indexers.append(ix)
        return ix

    def write(self, per_agent, rate=0.0, noise=False):
        """per_agent lines to every agent; at most `rate` lines/s in all when given."""
        if rate <= 0:
            for a in self.agents:
                a.write(per_agent, noise)
            return
        step = max(1, int(rate / 20 / len(self.agents)))  # 50 ms slices
        start, done = time.monotonic(), 0
        while done < per_agent:
            n = min(step, per_agent - done)
            for a in self.agents:
                a.write(n, noise)
            done += n
            delay = start + done * len(self.agents) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    @property
    def lines(self):
        return sum(a.lines for a in self.agents)

    def rows(self):
        try:
            return int(self.t.pg.scalar(f"SELECT count(*) FROM {self.table}"))
        except harness.HarnessError:  # not created yet, or PostgreSQL is down
            return None

    def wait_exact(self, timeout, what):
        """Waits for every line written, then checks each agent's rows exactly."""
        expected = self.lines
        try:
            harness.wait_until(lambda: (self.rows() or 0) >= expected, timeout, interval=0.5,
                               what=f"{expected} rows ({what})")
        except TimeoutError:
            raise AssertionError(f"{self.name}, {what}: {self.rows()} of {expected} rows after {timeout:.0f} s") from None
        time.sleep(2.0)  # a duplicate would show now
        got = {}
        for agent_id, total, seqs, lo, hi, idents, ids in self.t.pg.query(
                "SELECT agent_id, count(*), count(DISTINCT substring(body from 'seq=(\\d+)')), "
                "min(substring(body from 'seq=(\\d+)')::int), max(substring(body from 'seq=(\\d+)')::int), "
                f"count(*) FILTER (WHERE body = '{IDENT}'), count(DISTINCT id) FROM {self.table} GROUP BY agent_id"):
            got[agent_id] = tuple(int(x or 0) for x in (total, seqs, lo, hi, idents, ids))
        want = {a.id: (a.lines, a.seqs, 1, a.seqs, a.idents, a.lines) for a in self.agents}
        assert got == want, (f"{self.name}, {what}: per agent (rows, distinct seq, min, max, identical lines, "
                             f"distinct ids)\n  got  {got}\n  want {want}")
        return expected

    def spool_frames(self):
        return {a.id: a.metric("logship_agent_spool_frames") for a in self.agents}

    def spooled(self):
        return {a.id: a.metric("logship_agent_records_spooled_total") for a in self.agents}

    def procs(self):
        return [self.edge.proc] + [ix.proc for ix in self.indexers] + [a.proc for a in self.agents]

    def dump(self):
        for p in self.procs():
            print(f"--- {self.name}: {p.name} ({'alive' if p.alive() else f'exit {p.popen.returncode}'}) ---\n"
                  + p.log_tail(25), file=sys.stderr)

    def stop(self):
        for p in reversed(self.procs()):
            p.terminate()


class Stack:
    def __init__(self, agent_bin, collector_bin, broker, pg):
        self.agent_bin, self.collector_bin, self.broker, self.pg = agent_bin, collector_bin, broker, pg
