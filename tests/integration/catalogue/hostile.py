"""Catalogue: hostile content and disagreeing limits (issues 17, 18)."""

import os
import time

import common
import harness
import test_collector
from catalogue.registry import case
from catalogue.wire import varint


@case("JSON nested 200,000 deep", "a log line of 200,000 `[` through a `json` pipeline stage (a recursive parser overflows its stack)",
      "stored as it came, marked `logship.failed_stage: json`; the JSON stage never parses a document nested deeper than 64 or larger than 1 MiB; the collector keeps serving")
def deep_json(env):
    d = env.work / "deep-json"
    d.mkdir()
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-json.yaml"
    cfg.write_text(test_collector.collector_yaml(port, env.pg, http, pipeline="pipeline:\n  - json: {}\n"))
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-json")
    common.wait_healthy(env.collector_bin, port)
    try:
        (d / "app.log").write_text('{"msg":"before"}\n' + "[" * 200_000 + '\n{"msg":"after"}\n')
        agent = env.start_agent("deep-json", env.files_source(d), port=port)
        env.wait_rows("deep-json", 3)
        row = env.pg.query("SELECT attributes->>'logship.failed_stage', length(body) FROM logs "
                           "WHERE agent_id = 'deep-json' AND body LIKE '[[[%'")[0]
        assert row == ("json", "200000"), row
        assert env.rows("deep-json", "attributes->>'msg' IN ('before', 'after')") == 2
        assert collector.alive()
    finally:
        collector.terminate()
    return agent, "the deep line stored and marked json-failed; its neighbours parsed; the collector alive"


@case("batch larger than the collector's frame limit", "an agent with `batch.max_bytes: 4MiB` of incompressible lines, a collector with `max_frame_bytes: 1MiB`",
      "the collector announces its limits when the stream opens; the agent sends each batch in parts that fit (`logship_agent_batches_split_total`); every line arrives once. A single record larger than any frame is kept in the agent's `dead-letter/` with its reason, never re-sent forever")
def frame_limit(env):
    d = env.work / "frame-limit"
    d.mkdir()
    port = harness.free_port()
    cfg = env.work / "collector-small.yaml"
    cfg.write_text(common.write_collector_config(env.work, port, env.pg,
                                                 extra="limits: {max_frame_bytes: 1MiB}\nhttp: {listen: \"\"}\n").read_text())
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-small")
    common.wait_healthy(env.collector_bin, port)
    try:
        with open(d / "app.log", "w") as f:
            for i in range(1, 6001):
                f.write(f"seq={i:08d} {os.urandom(400).hex()}\n")
        agent = env.start_agent("frame-limit", env.files_source(d), port=port,
                                batch="{max_records: 100000, max_bytes: 4MiB, linger: 500ms}")
        env.exact_numbers("frame-limit", 6000)
        assert common.scrape_metric(agent.http_port, "logship_agent_batches_split_total") >= 1
    finally:
        collector.terminate()
    return agent, "6,000 lines of 800 bytes in 4 MiB batches through a 1 MiB frame limit, each once"


@case("OTLP flood without a token", "tokens configured; four ~15 MiB Export requests with no token, each of millions of empty LogRecords",
      "`UNAUTHENTICATED` before the request is parsed; with a token the same request is refused by `limits.max_otlp_request_bytes` (8 MiB) and one of 6 MiB by its record count, both before parsing; collector memory stays flat (it reached 3.8 GiB)")
def otlp_flood(env):
    import grpc
    port, http = env.auth_collector()
    proc = env._auth[0]
    scope = b"\x12\x00" * 7_500_000
    rl = b"\x12" + varint(len(scope)) + scope
    body = b"\x0a" + varint(len(rl)) + rl
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", -1)])
    call = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                               request_serializer=lambda b: b, response_deserializer=lambda b: b)
    codes = []
    for _ in range(4):
        try:
            call(body, timeout=60)
        except grpc.RpcError as e:
            codes.append(e.code())
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 4, codes
    try:
        call(body, metadata=[("authorization", "Bearer good-agent-token-0123456789")], timeout=60)
        raise AssertionError("an oversized request was taken")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
    peak = harness.Proc.rss_peak_kib(proc) / 1024
    assert peak < 300, f"peak RSS {peak:.0f} MiB"
    return None, f"4 x UNAUTHENTICATED, 1 x RESOURCE_EXHAUSTED; collector peak RSS {peak:.0f} MiB"


@case("event time far away", "log lines whose `ts=` is in 2001 or in 2099 (`kv` stage), and an OTLP request of 3,000 records on 3,000 different days",
      "each time is clamped to 7 days before / 1 hour after the time the line was read, the original kept in `logship.original_time`; the request creates a handful of partitions, not 3,005, and every record is stored")
def event_time_far(env):
    d = env.work / "far-time"
    d.mkdir()
    port, http = harness.free_port(), harness.free_port()
    cfg = env.work / "collector-kv.yaml"
    cfg.write_text(test_collector.collector_yaml(port, env.pg, http, pipeline="pipeline:\n  - kv: {}\n"))
    collector = common.start_collector(env.collector_bin, cfg, env.work, name="collector-kv")
    common.wait_healthy(env.collector_bin, port)
    try:
        (d / "app.log").write_text("ts=2001-01-01T00:00:00Z msg=old\nts=2099-01-01T00:00:00Z msg=future\n")
        agent = env.start_agent("far-time", env.files_source(d), port=port)
        env.wait_rows("far-time", 2)
        rows = env.pg.query("SELECT round(extract(epoch FROM observed_ts - ts) / 3600), "
                            "attributes ? 'logship.original_time' FROM logs WHERE agent_id = 'far-time' ORDER BY ts")
        assert rows == [("168", "t"), ("-1", "t")], rows
    finally:
        collector.terminate()
    return agent, "2001 clamped to 7 days back, 2099 to 1 hour ahead; originals kept"


@case("symbolic link to another file", "in a log directory the agent tails, `app.log -> /etc/shadow-like file` (a user who owns the directory planting a link)",
      "skipped with one warning `skipping PATH: it is a symbolic link (set follow_symlinks: true on this source if that is meant)`; files are opened with O_NOFOLLOW; the real files beside it ship")
def symlink_to_other(env):
    d = env.work / "planted"
    d.mkdir()
    secret = env.work / "secret.txt"
    secret.write_text("secret line\n")
    os.symlink(secret, d / "app.log")
    (d / "real.log").write_text("seq=00000001 real line\n")
    agent = env.start_agent("planted", env.files_source(d))
    env.exact_numbers("planted", 1)
    time.sleep(1)
    assert env.rows("planted", "body = 'secret line'") == 0
    assert "it is a symbolic link" in agent.log_tail(50)
    return agent, "the link skipped and said once; the real file shipped"
