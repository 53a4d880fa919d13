"""Catalogue: frames on the wire (a raw gRPC client; see test_collector.bad_frames_case)."""

import os
import subprocess
import time

import common
import harness
from catalogue.registry import case


def ship_raw(env, frame, code, needle, port=None, metadata=None):
    import grpc
    from logship.v1 import ingest_pb2_grpc
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{port or env.port}"))
    call = stub.Ship(iter([frame]), timeout=30, metadata=metadata)
    try:
        for _ in call:
            pass
        raise AssertionError("the frame was accepted")
    except grpc.RpcError as e:
        assert e.code() == code, f"{e.code()} {e.details()}"
        assert needle in e.details(), e.details()
        return f"{e.code().name}: {e.details()}"


def rejected(env):
    return common.scrape_metric(env.http, "logship_collector_frames_rejected_total") or 0


def frame(**kw):
    from logship.v1 import ingest_pb2
    return ingest_pb2.BatchFrame(agent_id=kw.pop("agent_id", "evil"), sequence=kw.pop("sequence", 1), **kw)


def wire_case(env, f, code_name, needle):
    import grpc
    before = rejected(env)
    msg = ship_raw(env, f, getattr(grpc.StatusCode, code_name), needle)
    assert rejected(env) == before + 1, "not counted in logship_collector_frames_rejected_total"
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, msg


@case("unknown codec", "a BatchFrame with codec 7",
      "`INVALID_ARGUMENT: frame 1 from agent \"evil\": unknown codec 7`, counted in `logship_collector_frames_rejected_total`")
def unknown_codec(env):
    return wire_case(env, frame(codec=7, record_count=1, uncompressed_bytes=3, payload=b"abc"),
                     "INVALID_ARGUMENT", "unknown codec 7")


@case("frame claiming 4 GiB", "a frame declaring `uncompressed_bytes` 4 GiB",
      "`RESOURCE_EXHAUSTED: ... declared uncompressed size 4294967296 exceeds max_uncompressed_bytes`, refused before allocating")
def claims_4gib(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=4 << 30, payload=b"x"),
                     "RESOURCE_EXHAUSTED", "declared uncompressed size 4294967296 exceeds max_uncompressed_bytes")


def zstd(data, level=19):
    return subprocess.run(["zstd", f"-{level}", "-q", "-c"], input=data, capture_output=True, check=True).stdout


@case("zstd bomb", "100 MB of zeros in 3 KiB of zstd, declared as 1,000 bytes",
      "`INVALID_ARGUMENT: ... payload decompresses to more than the 1000 bytes the frame declared` (decompression stops there); collector memory does not grow")
def zstd_bomb(env):
    from logship.v1 import ingest_pb2
    bomb = zstd(b"\0" * 100_000_000)
    rss = env.collector.rss_peak_kib()
    out = wire_case(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=1000, payload=bomb),
                    "INVALID_ARGUMENT", "payload decompresses to more than the 1000 bytes the frame declared")
    grew = (env.collector.rss_peak_kib() - rss) / 1024
    assert grew < 32, f"collector peak RSS grew by {grew:.0f} MiB"
    return None, out[1] + f" (peak RSS +{grew:.0f} MiB)"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@case("protobuf with a huge repeated field", "6 KiB of zstd holding 30 million empty records (declared: 1), or one record with 20 million empty attributes",
      "refused before parsing: `INVALID_ARGUMENT: ... batch holds more records than the 1 the frame declared`, `RESOURCE_EXHAUSTED: a record has more than max_attributes (256) attributes` (and at most 2 x max_uncompressed_bytes of attribute objects per batch); collector peak memory grows < 200 MiB (it was 3 GiB)")
def huge_repeated(env):
    from logship.v1 import ingest_pb2
    rss = env.collector.rss_peak_kib()
    t0 = time.monotonic()
    raw = b"\x22\x00" * 30_000_000
    ship_raw(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=len(raw), payload=zstd(raw, 3)),
             __import__("grpc").StatusCode.INVALID_ARGUMENT, "batch holds more records than the 1 the frame declared")
    record = b"\x0a\x10" + b"r" * 16 + b"\x3a\x00" * 20_000_000
    raw = b"\x0a\x04evil" + b"\x1a\x03\x0a\x01s" + b"\x22" + varint(len(record)) + record
    msg = ship_raw(env, frame(codec=ingest_pb2.CODEC_ZSTD, record_count=1, uncompressed_bytes=len(raw),
                              payload=zstd(raw, 3)),
                   __import__("grpc").StatusCode.RESOURCE_EXHAUSTED, "a record has more than max_attributes (256) attributes")
    took = time.monotonic() - t0
    grew = (env.collector.rss_peak_kib() - rss) / 1024
    assert grew < 200, f"collector peak RSS grew by {grew:.0f} MiB"
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, f"both refused in {took:.1f}s; peak RSS +{grew:.0f} MiB; {msg}"


@case("batch with 1 million empty records", "a frame declaring 1,000,000 records of 0 bytes each",
      "`RESOURCE_EXHAUSTED: ... record_count 1000000 exceeds max_records` (`limits.max_records`, default 100,000)")
def million_empty(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_NONE, record_count=1_000_000, uncompressed_bytes=2_000_000,
                                payload=b"\x22\x00" * 1_000_000),
                     "RESOURCE_EXHAUSTED", "record_count 1000000 exceeds max_records")


@case("garbage protobuf", "a payload of 100 bytes 0xff",
      "`INVALID_ARGUMENT: ... payload is not a valid logship.v1.Batch`")
def garbage_protobuf(env):
    from logship.v1 import ingest_pb2
    return wire_case(env, frame(codec=ingest_pb2.CODEC_NONE, record_count=1, uncompressed_bytes=100, payload=b"\xff" * 100),
                     "INVALID_ARGUMENT", "payload is not a valid logship.v1.Batch")


@case("agent id that does not match its token", "agent `good`'s bearer token on frames claiming agent `mallory`",
      "`PERMISSION_DENIED: the token belongs to agent \"good\" but the frame claims \"mallory\"`, counted in `logship_collector_auth_failures_total`; nothing stored (the same token with its own id is accepted)")
def foreign_agent_id(env):
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc, record_pb2
    port, http = env.auth_collector()
    token = [("authorization", "Bearer good-agent-token-0123456789")]
    batch = record_pb2.Batch(agent_id=b"good", host=b"h", sources=[record_pb2.Source(name=b"auth-src")],
                             records=[record_pb2.LogRecord(id=os.urandom(16), observed_time_unix_nano=time.time_ns(),
                                                           body=b"from good")])
    payload = batch.SerializeToString()
    ok = frame(agent_id="good", codec=ingest_pb2.CODEC_NONE, record_count=1, uncompressed_bytes=len(payload),
               payload=payload)
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    acks = list(stub.Ship(iter([ok]), timeout=30, metadata=token))
    assert acks and acks[0].status == ingest_pb2.BatchAck.OK, acks
    batch.agent_id = b"mallory"
    payload = batch.SerializeToString()
    bad = frame(agent_id="mallory", sequence=2, codec=ingest_pb2.CODEC_NONE, record_count=1,
                uncompressed_bytes=len(payload), payload=payload)
    msg = ship_raw(env, bad, grpc.StatusCode.PERMISSION_DENIED,
                   'the token belongs to agent "good" but the frame claims "mallory"', port=port, metadata=token)
    assert common.scrape_metric(http, "logship_collector_auth_failures_total") == 1
    assert env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'mallory'") == "0"
    assert env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'good' AND source = 'auth-src'") == "1"
    return None, msg


@case("OTLP body with deep nesting", "an OTLP/gRPC Export whose body nests kvlists 20 levels deep, and one 60 levels deep",
      "20 levels: stored, cut at depth 16 with `…`; 60 levels: the request is refused (`INVALID_ARGUMENT`/`INTERNAL`, protobuf's recursion limit); the collector keeps serving")
def otlp_deep(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    def nested(levels):
        v = common_pb2.AnyValue(string_value="bottom")
        for i in range(levels):
            v = common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[common_pb2.KeyValue(key=f"l{i}", value=v)]))
        return v

    def request(levels):
        return logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
            resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(
                key="service.name", value=common_pb2.AnyValue(string_value="catalogue-otlp"))]),
            scope_logs=[logs_pb2.ScopeLogs(log_records=[logs_pb2.LogRecord(time_unix_nano=time.time_ns(),
                                                                           body=nested(levels))])])])
    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env.port}"))
    stub.Export(request(20), timeout=10)
    try:
        stub.Export(request(60), timeout=10)
        raise AssertionError("a request nested 180 messages deep was accepted")
    except grpc.RpcError as e:
        assert e.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT), e.code()
        refused = e.code().name
    harness.wait_until(lambda: env.pg.scalar("SELECT count(*) FROM logs WHERE source = 'catalogue-otlp'") == "1", 10,
                       what="the OTLP row")
    body = env.pg.scalar("SELECT body FROM logs WHERE source = 'catalogue-otlp'")
    assert "…" in body and "bottom" not in body, body[:200]
    common.wait_healthy(env.collector_bin, env.port, timeout=5)
    return None, f"20 levels stored and cut ({len(body)} chars); 60 levels {refused}"
