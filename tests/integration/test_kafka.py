#!/usr/bin/env python3
"""Kafka between collectors and PostgreSQL (issue 21): the `kafka` sink (edge role) and the
`inputs.kafka` (indexer role), against a real Kafka 4 broker in KRaft mode (tests/engines,
fetched from Maven Central and cached) and a real PostgreSQL, with real agents.

    agents ══gRPC══> edge collector ──sinks.kafka──> topic (6 partitions)
                                                        │ consumer group
                                   indexer collectors <─┘ ──sinks.postgres──> PostgreSQL

One broker serves every scenario; each scenario has its own topic (6 partitions, created
here; the broker does not create topics on its own), consumer group, PostgreSQL table and
four agents (`start_at` left at its default, `end`, with the files created after the agents
started). Every fifth line is the same line on every agent; the others are numbered per
agent. "Exactly once" is checked per agent: rows, distinct numbers 1..N, the identical
line's count, distinct ids.

config    `--check-config`: an edge (kafka sink only) and an indexer pass; inputs.kafka.topic
          equal to sinks.kafka.topic (a loop), an inputs.kafka without brokers, an unknown key
          (inputs.kafka.grup) and a property logship sets (acks, enable.auto.commit) are refused.
startup   At start, a topic that does not exist: the indexer and the edge name it; brokers that
          do not answer (a closed port): the edge names them and its Ingest is NOT_SERVING. All
          keep running; the topic created, the lines spooled meanwhile land once.
pipeline  20,000 lines through the defaults (topic logship.records, group logship-indexers)
          and two indexers, exactly once in PostgreSQL. The edge's max_message_bytes is
          64KiB, so large batches are split (version 1) and small frames forwarded (version 2).
          The messages are read back from the broker's own segment files: key = agent id, the
          two encoding headers; version 1: value = zstd frame of a logship.v1.Batch whose records
          all carry a 16-byte id, which are rows' ids; version 2: a ForwardedFrame whose frame
          holds the agent's batch.
versions  kafka_versions.py: the same spooled frames through message_version 1, 2 (the
          default) and 2 with an edge pipeline stage (sent as 1): identical rows.
peak      PostgreSQL stopped while 100,000 lines are written at once: the edge takes them
          all (every agent's spool drains to 0 frames), the lag sits in Kafka (the group's
          committed offsets and the lag metric); PostgreSQL back: every line once, offsets
          committed up to the end. Prints lines/s through the edge, the agents' spool peak and
          the drain time. LOGSHIP_KAFKA_FULL=1: the issue's size, 50 agents and 500,000 lines.
scale     Three indexers on six agents' keys (all 6 partitions), 2 partitions each; the busiest
          is killed (-9) mid-stream: the two survivors take all 6 (3 each); a fourth joins: three
          members, 2 partitions each, every one consuming; every line once. Checked with the
          group's assignment, consumer_lag{partition} and rebalances_total.
broker    The broker is stopped mid-stream: the edge's logship.v1.Ingest goes NOT_SERVING,
          /healthz names kafka, the agents keep their batches spooled; the broker back: every
          line once.

    test_kafka.py --bin-dir BUILD [--only config,startup,pipeline,versions,peak,scale,broker]

The agents, collectors and the broker-side checks (ConsumerGroupCommand, the segment reader)
are in kafka_pipeline.py.

Figures are printed; LOGSHIP_KEEP_TMP=1 keeps the work directories (and the broker's).
"""

import os
import pathlib
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "engines"))
import engines  # noqa: E402  (puts tests/integration on sys.path too)
import harness  # noqa: E402
from kafka_pipeline import (AGENT_IDS, PARTITIONS, SIX_IDS, Pipeline, Stack, decode_message,  # noqa: E402
                            Collector, edge_yaml, group_lag, group_offsets, healthz, indexer_yaml,
                            kafka_messages, members_holding, metric_series, probe)
from kafka_versions import scenario_versions  # noqa: E402


# -- scenarios ---------------------------------------------------------------------------
def scenario_config(t):
    work = harness.make_workdir("logship-kafka-config")
    dead = f"127.0.0.1:{harness.free_port()}"  # nothing listens: checking must not need a broker

    def check(name, body):
        cfg = work / f"{name}.yaml"
        cfg.write_text(f"listen: 127.0.0.1:{harness.free_port()}\nhttp: {{listen: \"\"}}\n"
                       f"data_dir: {work / 'data'}\n" + body)
        r = subprocess.run([str(t.collector_bin), "--check-config", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    edge = edge_yaml(dead, "logship.records", "    required: true\n    delivery_timeout: 30s\n"
                     "    max_message_bytes: 1MiB\n", {"linger.ms": "5"})
    code, out = check("edge", edge)
    assert code == 0, f"an edge collector with only a kafka sink is refused ({code}):\n{out}"
    code, out = check("indexer", indexer_yaml(dead, t.pg, "logs", "logship.records", "logship-indexers",
                                              {"fetch.min.bytes": "1"}))
    assert code == 0, f"an indexer collector is refused ({code}):\n{out}"
    code, out = check("both", edge_yaml(dead, "edge.records") +
                      f"inputs:\n  kafka:\n    brokers: [\"{dead}\"]\n    topic: agents.records\n")
    assert code == 0, f"a collector with inputs.kafka and a kafka sink on another topic is refused ({code}):\n{out}"

    code, out = check("loop", edge_yaml(dead, "same.topic") + f"inputs:\n  kafka:\n    brokers: [\"{dead}\"]\n    topic: same.topic\n")
    assert code == 2, f"inputs.kafka.topic == sinks.kafka.topic: exit {code}, expected 2:\n{out}"
    assert "inputs.kafka" in out and "sinks.kafka" in out and "loop" in out, \
        f"the loop error should name inputs.kafka and sinks.kafka:\n{out}"
    loop_msg = out.strip().splitlines()[-1] if out.strip() else ""
    code2, out2 = check("loop-defaults", edge_yaml(dead) + f"inputs:\n  kafka:\n    brokers: [\"{dead}\"]\n")
    assert code2 == 2 and "inputs.kafka" in out2 and "sinks.kafka" in out2, \
        f"both topics left at their default (the same) must be refused too ({code2}):\n{out2}"
    code3, out3 = check("no-brokers", "inputs:\n  kafka:\n    topic: x\nsinks:\n  blackhole: {}\n")
    assert code3 == 2 and "brokers" in out3, f"inputs.kafka without brokers: exit {code3}, expected 2 naming brokers:\n{out3}"
    code4, out4 = check("no-sink-brokers", "sinks:\n  kafka:\n    topic: x\n")
    assert code4 == 2 and "brokers" in out4, f"sinks.kafka without brokers: exit {code4}, expected 2 naming brokers:\n{out4}"
    code7, out7 = check("version-3", edge_yaml(dead, extra="    message_version: 3\n"))
    assert code7 == 2 and "message_version" in out7, f"sinks.kafka.message_version 3: exit {code7}, expected 2:\n{out7}"
    code5, out5 = check("typo", indexer_yaml(dead, t.pg, "logs", group="g").replace("    group:", "    grup:"))
    assert code5 == 2 and '"grup"' in out5, f"inputs.kafka.grup: exit {code5}, expected 2 naming \"grup\":\n{out5}"
    for name, key, body in (("sink-acks", "acks", edge_yaml(dead, props={"acks": "1"})),
                            ("input-commit", "enable.auto.commit",
                             indexer_yaml(dead, t.pg, "logs", props={"enable.auto.commit": "false"}))):
        code6, out6 = check(name, body)
        assert code6 == 2 and f'"{key}" is set by logship' in out6, \
            f"{name}: exit {code6}, expected 2 with '\"{key}\" is set by logship':\n{out6}"
    return (f"edge, indexer and both-roles configs pass; a loop is refused ({loop_msg!r}); missing brokers, "
            f"inputs.kafka.grup and reserved properties refused ({out6.strip().splitlines()[-1]!r})")


def scenario_startup(t):
    """At start, a topic that does not exist (no auto-creation) and brokers that do not answer:
    a clear message naming them; the collectors keep running and pick the topic up once created."""
    work, dead = harness.make_workdir("logship-kafka-startup"), f"127.0.0.1:{harness.free_port()}"
    lonely = Collector(t, work, "dead-edge", edge_yaml(dead, "any.records"))
    p = Pipeline(t, "startup", topic="late.records", group="late-indexers", indexers=1, create_topic=False)
    cbin = t.collector_bin

    def logged(c, *parts):
        found = lambda: all(x in c.proc.log_tail(400) for x in parts)  # noqa: E731
        try:
            harness.wait_until(found, 20, interval=0.3, what=f"{c.name} logging {parts}")
        except TimeoutError:
            raise AssertionError(f"{c.name} did not log {parts}:\n{c.proc.log_tail(20)}") from None
        return next(ln for ln in c.proc.log_tail(400).splitlines() if parts[-1] in ln).split(" ", 1)[-1]
    try:
        unknown = f'kafka topic "{p.topic}" on {t.broker.bootstrap}: '
        hint = "(create it, or let the brokers auto-create topics)"
        msg_ix = logged(p.indexers[0], unknown, hint + "; consuming as soon as it is there")
        logged(p.edge, "kafka is not ready yet (batches will be retried): " + unknown, hint)
        msg_dead = logged(lonely, "kafka is not ready yet (batches will be retried): "
                                  f"kafka brokers {dead} do not answer (")
        harness.wait_until(lambda: probe(cbin, lonely.port) != 0, 15, interval=0.3,
                           what="logship.v1.Ingest NOT_SERVING with the brokers unreachable")
        assert probe(cbin, lonely.port, "") == 0, "the edge process itself must stay SERVING"
        p.write(100)  # spooled by the agents while the topic is missing
        time.sleep(3)
        for c in (lonely, p.edge, p.indexers[0]):
            assert c.proc.alive(), f"{c.name} exited:\n{c.proc.log_tail(20)}"
        assert probe(cbin, lonely.port) != 0 and not p.rows(), "NOT_SERVING, nothing stored"
        created = time.monotonic()
        t.broker.create_topic(p.topic, partitions=PARTITIONS)
        p.write(100)
        total = p.wait_exact(60, "after the topic was created")
        return (f"indexer: {msg_ix!r}; unreachable: {msg_dead!r} and Ingest NOT_SERVING; "
                f"topic created: {total} lines once {time.monotonic() - created:.1f} s later")
    except BaseException:
        p.dump()
        print(lonely.proc.log_tail(20), file=sys.stderr)
        raise
    finally:
        p.stop()
        lonely.proc.terminate()


def scenario_pipeline(t):
    """20,000 lines, defaults for topic and group, two indexers, split messages, format."""
    p = Pipeline(t, "pipeline", edge_extra="    max_message_bytes: 64KiB\n")  # topic and group: defaults
    try:
        started = time.monotonic()
        p.write(5000, noise=True)  # 4 agents x 5,000 = 20,000 lines, 4,000 identical
        total = p.wait_exact(120, "pipeline")
        took = time.monotonic() - started
        harness.wait_until(lambda: group_lag(t.broker, p.group, p.topic) == 0, 30, interval=1,
                           what="the group's offsets committed up to the end")
        messages = kafka_messages(t.broker, p.topic)
        ends = sum(end for _, end in group_offsets(t.broker, p.group, p.topic).values())
        assert len(messages) == ends, f"{len(messages)} messages in the segment files, log end offsets sum to {ends}"
        big = [len(m["value"]) for m in messages if len(m["value"]) > 64 * 1024]
        assert not big, f"{len(big)} message values over max_message_bytes (64KiB): {big[:5]}"
        ids, records, forwarded = set(), 0, 0  # ids: of version 1 messages (version 2 carries offsets)
        keys = set()
        for m in messages:
            version, batch = decode_message(m)
            keys.add(m["key"].decode())
            records += len(batch.records)
            if version == 2:
                forwarded += len(batch.records)
            ids.update(str(uuid.UUID(bytes=r.id)) for r in batch.records if version == 1)
        assert keys == set(AGENT_IDS), f"message keys {keys}"
        rows = {r[0] for r in t.pg.query(f"SELECT id FROM {p.table}")}
        assert ids <= rows and len(ids) + forwarded >= len(rows), (
            f"record ids in Kafka and row ids in PostgreSQL differ: {len(ids)} ids and {forwarded} forwarded "
            f"records in Kafka, {len(rows)} rows, {len(ids - rows)} ids only in Kafka")
        assert ids, f"no version 1 message: no batch over 64KiB was re-encoded and split ({forwarded} forwarded records)"
        acked = sum(a.metric("logship_agent_batches_acked_total") or 0 for a in p.agents)
        assert len(messages) > acked, (f"{len(messages)} messages for {acked:.0f} agent batches: no batch "
                                       f"was split at max_message_bytes 64KiB")
        partitions = {m["partition"] for m in messages}
        consumed = [ix.metric("logship_collector_kafka_consumed_messages_total") for ix in p.indexers]
        produced = p.edge.metric("logship_collector_kafka_produced_messages_total")
        assert produced is not None and produced >= len(messages), f"produced_messages_total {produced}"
        assert None not in consumed and sum(consumed) >= len(messages), \
            f"consumed_messages_total per indexer {consumed}, {len(messages)} messages in the topic"
        # Which indexer consumed what depends on when the second one joined (under load the first
        # may hold every partition until all is written); the scale scenario checks the spread.
        harness.wait_until(lambda: members_holding(t.broker, p.group, 2), 30, interval=1,
                           what="two indexers holding partitions")
        errors = p.edge.metric("logship_collector_kafka_delivery_errors_total")
        assert errors == 0, f"logship_collector_kafka_delivery_errors_total {errors} with the broker up"
        return (f"{total} lines once in PostgreSQL in {took:.1f} s; {len(messages)} messages "
                f"({acked:.0f} agent batches, split at 64KiB) on partitions {sorted(partitions)}, "
                f"{records} records ({forwarded} in forwarded frames), version 1 ids = row ids; consumed per indexer {[int(c) for c in consumed]}")
    except BaseException:
        p.dump()
        raise
    finally:
        p.stop()


def scenario_peak(t):
    """PostgreSQL away while 100,000 lines (LOGSHIP_KAFKA_FULL=1: 500,000 from 50 agents)
    arrive: Kafka holds them, the agents do not."""
    full = os.environ.get("LOGSHIP_KAFKA_FULL") == "1"
    per_agent, slow = (10_000, 5) if full else (25_000, 1)  # slow: timeouts scale with the size
    p = Pipeline(t, "peak", topic="peak.records", group="peak-indexers",
                 agent_ids=[f"agent{i:02d}" for i in range(50)] if full else AGENT_IDS,
                 agent_extra="batch: {max_records: 1000, max_bytes: 256KiB}\n" if full else "")
    try:
        p.write(100)
        p.wait_exact(60 * slow, "warm-up")
        warm = p.lines
        before_msgs = sum(end for _, end in group_offsets(t.broker, p.group, p.topic).values())
        t.pg.stop_server()
        try:
            started = time.monotonic()
            p.write(per_agent)  # 100,000 (500,000) lines in all, as fast as the files take them
            max_frames = max_one = 0

            def all_acked():
                nonlocal max_frames, max_one
                spool = [a.spool() for a in p.agents]
                frames = [f or 0 for _, f in spool]
                max_frames, max_one = max(max_frames, sum(frames)), max(max_one, max(frames))
                return all(n == a.lines for (n, _), a in zip(spool, p.agents)) and not any(frames)
            try:
                harness.wait_until(all_acked, 120 * slow, interval=0.2 * slow,
                                   what="every agent's spool drained into Kafka")
            except TimeoutError:
                raise AssertionError(f"with PostgreSQL down the agents' spools did not drain: frames "
                                     f"{p.spool_frames()}, spooled {p.spooled()} of {[a.lines for a in p.agents]}")
            acked_at = time.monotonic()
            rate = (p.lines - warm) / (acked_at - started)
            offsets = group_offsets(t.broker, p.group, p.topic)
            in_kafka = sum(end for _, end in offsets.values()) - before_msgs
            assert in_kafka > 0, "nothing reached the topic"
            lag = sum(end - (committed or 0) for committed, end in offsets.values())
            assert lag and lag > 0, f"the group's lag is {lag} with PostgreSQL down"
            lag_metric = 0  # checked last, so that a failure still reports the figures
            try:
                lag_metric = harness.wait_until(
                    lambda: sum(ix.metric("logship_collector_kafka_consumer_lag") or 0 for ix in p.indexers), 20,
                    interval=0.5, what="logship_collector_kafka_consumer_lag > 0 on the indexers")
            except TimeoutError:
                pass
            series = {lbl for ix in p.indexers
                      for lbl in metric_series(ix.http, "logship_collector_kafka_consumer_lag")}
            assert series and all('partition="' in s for s in series), f"lag series {series}"
            time.sleep(2)
            assert all(f == 0 for f in p.spool_frames().values()), p.spool_frames()
        finally:
            t.pg.start_server()
        back = time.monotonic()
        total = p.wait_exact(180 * slow, "after PostgreSQL returned")
        drained = time.monotonic() - back
        harness.wait_until(lambda: group_lag(t.broker, p.group, p.topic) == 0, 30, interval=1,
                           what="offsets committed up to the end after the drain")
        figures = (f"PostgreSQL down: {len(p.agents)} agents, {p.lines - warm} lines through the edge at "
                   f"{rate:,.0f} lines/s into {in_kafka} messages (agents' spools peaked at {max_frames:.0f} batches "
                   f"in all, {max_one:.0f} on one agent, then 0); lag {lag} messages (broker), "
                   f"{lag_metric:.0f} (metric); back: {total} lines "
                   f"once after {drained:.1f} s of draining")
        assert lag_metric > 0, f"logship_collector_kafka_consumer_lag stayed 0 with PostgreSQL down ({figures})"
        return figures
    except BaseException:
        p.dump()
        raise
    finally:
        p.stop()


def scenario_scale(t):
    """Three indexers, 6 partitions; kill -9 of the busiest mid-stream, then a fourth joins:
    every line once, and every live member ends up holding partitions."""
    p = Pipeline(t, "scale", topic="scale.records", group="scale-indexers", indexers=3, agent_ids=SIX_IDS)
    held = lambda n: members_holding(t.broker, p.group, n, p.topic)  # noqa: E731
    try:
        p.write(50)
        p.wait_exact(60, "warm-up")
        first = harness.wait_until(lambda: held(3), 30, interval=1, what="three indexers holding 2 partitions each")
        writer = threading.Thread(target=p.write, args=(7000, 3000.0))  # 42,000 lines in 14 s
        writer.start()
        try:
            harness.wait_until(lambda: (p.rows() or 0) >= 300 + 3000, 60, interval=0.2, what="rows flowing")
            consumed = [ix.metric("logship_collector_kafka_consumed_messages_total") or 0 for ix in p.indexers]
            victim = p.indexers[consumed.index(max(consumed))]
            survivors = [ix for ix in p.indexers if ix is not victim]
            rebalances = [ix.metric("logship_collector_kafka_rebalances_total") or 0 for ix in survivors]
            victim.proc.kill9()
            killed_at, rows_at_kill = time.monotonic(), p.rows()
            # the dead member's partitions move once its session (6 s) times out
            second = harness.wait_until(lambda: held(2), 40, interval=0.5,
                                        what="two survivors holding all 6 partitions")
            moved = time.monotonic() - killed_at
            fourth = p.add_indexer()
            fourth.wait_healthy()
            third = harness.wait_until(lambda: held(3), 40, interval=0.5, what="three live indexers holding partitions")
        finally:
            writer.join()
        p.write(500)  # 3,000 lines after the last rebalance: every live member has some
        total = p.wait_exact(120, "after kill -9 of an indexer and a fourth joining")
        live = survivors + [fourth]
        after = [ix.metric("logship_collector_kafka_rebalances_total") or 0 for ix in survivors]
        assert all(a > b for a, b in zip(after, rebalances)), f"survivors' rebalances {rebalances} → {after}"
        lag_parts = {ix.name: sorted(int(lbl.split('"')[1]) for lbl in
                                     metric_series(ix.http, "logship_collector_kafka_consumer_lag")) for ix in live}
        assert all(lag_parts.values()), f"a live indexer has no consumer_lag{{partition}} series: {lag_parts}"
        assert set(lag_parts[fourth.name]) in list(third.values()), \
            f"{fourth.name}'s consumer_lag partitions {lag_parts[fourth.name]}, the group's assignment {third}"
        consumed = {ix.name: ix.metric("logship_collector_kafka_consumed_messages_total") for ix in live}
        assert all(c and c > 0 for c in consumed.values()), f"a live indexer consumed nothing: {consumed}"
        shape = lambda m: sorted(sorted(v) for v in m.values())  # noqa: E731
        return (f"partitions {shape(first)}; {victim.name} killed (-9) at {rows_at_kill} rows, its partitions "
                f"moved after {moved:.1f} s: {shape(second)}; {fourth.name} joined: {shape(third)}; "
                f"{total} lines once; consumed {consumed}; lag series {lag_parts}; "
                f"survivors' rebalances {rebalances} → {after}")
    except BaseException:
        p.dump()
        raise
    finally:
        p.stop()


def scenario_broker(t):
    """The broker stops: NOT_SERVING at the edge, agents spool; back: every line once."""
    p = Pipeline(t, "broker", topic="broker.records", group="broker-indexers",
                 edge_extra="    delivery_timeout: 5s\n", edge_props={"reconnect.backoff.max.ms": "1000"})
    cbin = t.collector_bin
    try:
        p.write(100)
        p.wait_exact(60, "warm-up")
        assert probe(cbin, p.edge.port) == 0, "the edge is not SERVING with the broker up"
        rows_before = p.rows()
        stopped_at = time.monotonic()
        t.broker.stop_process()
        try:
            try:
                harness.wait_until(lambda: probe(cbin, p.edge.port) != 0, 45, interval=0.3,
                                   what="the edge's logship.v1.Ingest NOT_SERVING")
            except TimeoutError:
                raise AssertionError("the edge stayed SERVING with the broker gone") from None
            not_serving = time.monotonic() - stopped_at
            assert probe(cbin, p.edge.port, "") == 0, "the edge process itself must stay SERVING"
            status, body = healthz(p.edge.http)
            assert status == 503 and "kafka" in body, f"/healthz {status} {body!r}"
            p.write(1500, noise=True)
            harness.wait_until(lambda: all(p.spooled()[a.id] == a.lines for a in p.agents), 30, interval=0.3,
                               what="every line spooled by its agent")
            time.sleep(3)
            frames = p.spool_frames()
            assert all(f and f > 0 for f in frames.values()), f"agents hold no spooled batches: {frames}"
            assert p.rows() == rows_before, "rows arrived with the broker down"
        finally:
            t.broker.start_process()
        back = time.monotonic()
        harness.wait_until(lambda: probe(cbin, p.edge.port) == 0, 60, interval=0.3,
                           what="the edge SERVING again after the broker returned")
        serving_again = time.monotonic() - back
        total = p.wait_exact(120, "after the broker returned")
        drained = time.monotonic() - back
        harness.wait_until(lambda: all(f == 0 for f in p.spool_frames().values()), 30, interval=0.3,
                           what="the agents' spools empty")
        errors = p.edge.metric("logship_collector_kafka_delivery_errors_total")
        assert errors is not None, "no logship_collector_kafka_delivery_errors_total"
        queue = p.edge.metric("logship_collector_kafka_producer_queue_bytes")
        assert queue is not None, "no logship_collector_kafka_producer_queue_bytes"
        return (f"NOT_SERVING {not_serving:.1f} s after the broker stopped; agents held {sum(frames.values()):.0f} "
                f"frames; SERVING {serving_again:.1f} s after it returned; {total} lines once after "
                f"{drained:.1f} s; {errors:.0f} delivery errors counted")
    except BaseException:
        p.dump()
        raise
    finally:
        p.stop()


SCENARIOS = {"config": scenario_config, "startup": scenario_startup, "pipeline": scenario_pipeline,
             "versions": scenario_versions, "peak": scenario_peak, "scale": scenario_scale,
             "broker": scenario_broker}


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
        unknown = set(only) - set(SCENARIOS)
        if unknown:
            raise SystemExit(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    sys.argv[1:] = args
    agent_bin, collector_bin = harness.binaries_from_argv()
    began = time.monotonic()
    passed = 0
    with harness.PostgresServer() as pg, \
            engines.KafkaBroker(partitions=PARTITIONS, auto_create_topics=False) as broker:
        print(f"kafka: broker at {broker.bootstrap} ready in {broker.start_seconds:.1f} s", flush=True)
        t = Stack(agent_bin, collector_bin, broker, pg)
        for name, fn in SCENARIOS.items():
            if only and name not in only:
                continue
            t0 = time.monotonic()
            try:
                summary = fn(t)
            except BaseException:
                print(f"--- broker log tail ---\n{broker.proc.log_tail(30) if broker.proc else ''}", file=sys.stderr)
                raise
            passed += 1
            print(f"kafka {name} ({time.monotonic() - t0:.0f} s): {summary}", flush=True)
    print(f"kafka: {passed} passed, 0 failed in {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
