"""test_kafka.py's `versions` scenario: the Kafka message versions (README "Kafka") store the same rows.

The same spooled frames go three ways, each through an edge, a topic, an indexer and a table
of its own:
    v1       the edge with `message_version: 1` (the batch re-encoded, ids and pipeline results in it)
    v2       the defaults: the agent's frame forwarded as it arrived; the indexer derives the rest
    stages   the defaults, but the edge has a pipeline stage (`set: {env: prod}`): version 1 again
One agent reads the lines once with no collector up (so observed times are fixed); its data
directory is copied for each way, and each copy sends the same frames. The lines: constant
header lines, identical lines, CRLF, a partial last line completed later, and a source whose
attributes carry a level and a time from 2001 (severity extracted, the time clamped to the
7-day window with logship.original_time). Every column of every row must match across v1 and
v2 (and stages, but for its `env`), each table holding every line once, and each topic's
messages must carry the version the edge should have chosen.
"""

import shutil
import time

import harness
from kafka_pipeline import (CONSUMER_PROPERTIES, Collector, edge_yaml, indexer_yaml, kafka_messages,
                            metric)

LINES_APP = 200 + 1000 + 300 + 1  # headers, numbered (half CRLF), identical, the partial one
LINES_PLAIN = 500
# md5(body): psql prints rows as lines, and a CRLF body would end its line early
COLUMNS = ("id::text, ts, observed_ts, host, agent_id, source, severity, md5(body), {attributes}, "
           "coalesce(trace_id, ''), coalesce(correlation_id, '')")


def _agent_config(d, logs, port, http):
    return (f"agent_id: echo\n"
            f"data_dir: {d / 'data'}\n"
            "sources:\n"
            "  - type: file\n"
            f"    include: [\"{logs}/app.log\"]\n"
            "    attributes: {level: warn, ts: \"2001-02-03T04:05:06Z\"}\n"
            "  - type: file\n"
            f"    include: [\"{logs}/plain.log\"]\n"
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 1s\n"
            f"http: {{listen: 127.0.0.1:{http}}}\n")


def _start_agent(t, work, name, logs, port):
    d = work / name
    d.mkdir(exist_ok=True)
    http = harness.free_port()
    cfg = d / "agent.yaml"
    cfg.write_text(_agent_config(d, logs, port, http))
    return harness.Proc([t.agent_bin, "--config", cfg], work, name=name), http


def _prefill(t, work, logs):
    """Reads every line into a spool with no collector up; returns the stopped agent's directory."""
    proc, http = _start_agent(t, work, "prefill", logs, harness.free_port())  # nothing listens there
    try:
        harness.wait_until(lambda: "started" in proc.log_tail(200) or not proc.alive(), 20, what="agent started")
        with open(logs / "app.log", "w", newline="") as app, open(logs / "plain.log", "w") as plain:
            app.write("# app v1.2 log, one header line like every restart's\n" * 200)
            for i in range(1000):
                app.write(f"seq={i:05d} msg=\"through kafka\"" + ("\r\n" if i % 2 else "\n"))
            app.write("level=info msg=\"the same line, again and again\"\n" * 300)
            plain.write("".join(f"plain {i} x={'y' * (i % 40)}\n" for i in range(LINES_PLAIN)))
            app.write("a partial last line")
        time.sleep(1.5)  # read without its end first
        with open(logs / "app.log", "a") as app:
            app.write(" completed later\n")
        spooled = lambda: metric(http, "logship_agent_records_spooled_total") or 0  # noqa: E731
        harness.wait_until(lambda: spooled() >= LINES_APP + LINES_PLAIN, 30, what="every line spooled")
        assert spooled() == LINES_APP + LINES_PLAIN, f"{spooled()} records spooled"
    finally:
        proc.terminate()
    return work / "prefill"


def _way(t, work, name, spool_dir, logs, edge_extra):
    """An edge, a topic, an indexer and a table for one way; an agent sending a copy of the spool."""
    topic, table = f"versions.{name}", f"kafka_versions_{name}"
    t.broker.create_topic(topic, partitions=1)
    edge = Collector(t, work, f"edge-{name}", edge_yaml(t.broker.bootstrap, topic, edge_extra))
    ix = Collector(t, work, f"indexer-{name}", indexer_yaml(t.broker.bootstrap, t.pg, table, topic,
                                                            f"versions-{name}", CONSUMER_PROPERTIES))
    edge.wait_healthy()
    ix.wait_healthy()
    shutil.copytree(spool_dir / "data", work / f"agent-{name}" / "data")
    agent, _ = _start_agent(t, work, f"agent-{name}", logs, edge.port)
    return {"name": name, "topic": topic, "table": table, "edge": edge, "indexer": ix, "agent": agent}


def _rows(t, way, attributes="attributes::text"):
    return t.pg.query(f"SELECT {COLUMNS.format(attributes=attributes)} FROM {way['table']} ORDER BY 1, 2")


def scenario_versions(t):
    """Message versions 1 and 2 (and 1 forced by a pipeline stage) store identical rows."""
    work = harness.make_workdir("logship-kafka-versions")
    logs = work / "logs"
    logs.mkdir()
    spool_dir = _prefill(t, work, logs)
    ways = []
    try:
        for name, extra in (("v1", "    message_version: 1\n"), ("v2", ""),
                            ("stages", "pipeline:\n  - set: {env: prod}\n")):
            ways.append(_way(t, work, name, spool_dir, logs, extra))
        want = LINES_APP + LINES_PLAIN
        for w in ways:
            count = lambda: int(t.pg.scalar(f"SELECT count(*) FROM {w['table']}")) if _table_exists(t, w) else 0  # noqa: E731,B023
            harness.wait_until(lambda: count() >= want, 60, interval=0.5, what=f"{want} rows in {w['table']}")
        time.sleep(2.0)  # a duplicate would show now
        v1, v2, stages = (_rows(t, w) for w in ways)
        assert len(v1) == want and len({r[0] for r in v1}) == want, f"v1: {len(v1)} rows, want {want} distinct ids"
        assert v2 == v1, _first_difference("v2", v2, v1)
        plain_stages = _rows(t, ways[2], "(attributes - 'env')::text")
        assert plain_stages == v1, _first_difference("stages (without env)", plain_stages, v1)
        envs = t.pg.scalar(f"SELECT count(*) FROM {ways[2]['table']} WHERE attributes->>'env' = 'prod'")
        assert int(envs) == want, f"{envs} of {want} rows with env=prod through the stage"
        clamped = t.pg.scalar(f"SELECT count(*) FROM {ways[1]['table']} WHERE severity = 13 "
                              "AND attributes ? 'logship.original_time'")
        assert int(clamped) == LINES_APP, f"{clamped} clamped warn rows through v2, want {LINES_APP}"
        crlf = t.pg.scalar(f"SELECT count(*) FROM {ways[1]['table']} WHERE body LIKE '%' || chr(13)")
        assert int(crlf) == 500, f"{crlf} rows ending in \\r through v2, want 500"
        versions = {}
        for w in ways:
            got = {m["headers"].get("logship-encoding-version") for m in kafka_messages(t.broker, w["topic"])}
            versions[w["name"]] = got
        assert versions == {"v1": {b"1"}, "v2": {b"2"}, "stages": {b"1"}}, f"message versions per way: {versions}"
        forwarded = [w["edge"].metric("logship_collector_kafka_forwarded_frames_total") for w in ways]
        assert forwarded[0] == 0 and forwarded[1] > 0 and forwarded[2] == 0, f"forwarded_frames_total {forwarded}"
        return (f"{want} lines each way; v2 rows = v1 rows in every column ({LINES_APP} clamped, 500 CRLF, "
                f"identical and header lines); the stage's way stays version 1; forwarded frames {forwarded}")
    except BaseException:
        for w in ways:
            for p in (w["agent"], w["edge"].proc, w["indexer"].proc):
                print(f"--- {p.name} ---\n{p.log_tail(20)}")
        raise
    finally:
        for w in ways:
            for p in (w["agent"], w["edge"].proc, w["indexer"].proc):
                p.terminate()


def _table_exists(t, way):
    return t.pg.scalar(f"SELECT count(*) FROM pg_tables WHERE tablename = '{way['table']}'") != "0"


def _first_difference(name, got, want):
    for g, w in zip(got, want):
        if g != w:
            return f"{name} differs from v1 ({len(got)} vs {len(want)} rows); first:\n  {name} {g}\n  v1   {w}"
    return f"{name}: {len(got)} rows, v1: {len(want)}"
