#!/usr/bin/env python3
"""Writes the binary seed corpora of tests/fuzz/ (frames, OTLP requests, spool segments).
Run with Debian's python3 (python3-grpc-tools, python3-protobuf); the output is checked in."""

import pathlib
import struct
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests/fuzz/corpus"


def crc32c(data: bytes) -> int:  # only for making seeds; the product uses ISA-L
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def main():
    out = pathlib.Path(tempfile.mkdtemp())
    protos = [str(p.relative_to(REPO / "proto")) for p in (REPO / "proto").rglob("*.proto")]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{REPO / 'proto'}", f"--python_out={out}", *protos],
                   check=True, cwd=REPO / "proto")
    sys.path.insert(0, str(out))
    from logship.v1 import ingest_pb2, record_pb2
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    batch = record_pb2.Batch(agent_id=b"seed", host=b"h")
    batch.sources.add(name=b"/var/log/app.log", attributes=[record_pb2.KeyValue(key=b"service", value=b"x")])
    for i in range(3):
        batch.records.add(id=bytes(range(16)), observed_time_unix_nano=1 + i, body=b"line %d" % i,
                          attributes=[record_pb2.KeyValue(key=b"k", value=b"v")])
    raw = batch.SerializeToString()
    frame = ingest_pb2.BatchFrame(agent_id="seed", sequence=1, codec=ingest_pb2.CODEC_NONE, record_count=3,
                                  uncompressed_bytes=len(raw), payload=raw)
    (CORPUS / "frame_decoder/none.bin").write_bytes(frame.SerializeToString())
    zst = subprocess.run(["zstd", "-1", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    frame.codec, frame.payload = ingest_pb2.CODEC_ZSTD, zst
    (CORPUS / "frame_decoder/zstd.bin").write_bytes(frame.SerializeToString())

    # Kafka messages as the indexer reads them: a version byte (0: version 1, 1: version 2), then the value.
    from logship.v1 import kafka_pb2
    (CORPUS / "kafka_message").mkdir(exist_ok=True)
    (CORPUS / "kafka_message/v1.bin").write_bytes(b"\x00" + zst)
    forwarded = kafka_pb2.ForwardedFrame(frame=frame, principal="seed", max_past_ns=7 * 86400 * 10**9,
                                         max_future_ns=3600 * 10**9)
    (CORPUS / "kafka_message/v2.bin").write_bytes(b"\x01" + forwarded.SerializeToString())

    def s(v):
        return common_pb2.AnyValue(string_value=v)
    req = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(key="service.name", value=s("svc"))]),
        scope_logs=[logs_pb2.ScopeLogs(log_records=[
            logs_pb2.LogRecord(time_unix_nano=5, severity_number=9, body=s("hello"), trace_id=bytes(16)),
            logs_pb2.LogRecord(body=common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(
                values=[common_pb2.KeyValue(key="a", value=common_pb2.AnyValue(int_value=1))])))])])])
    (CORPUS / "otlp/request.bin").write_bytes(req.SerializeToString())

    # Spool frames as they follow the segment header (agent/spool/FORMAT.md).
    frames = b""
    for seq, payload in ((1, zst), (2, b"payload two"), (3, b"")):
        meta = b"\x08\x01"
        body = struct.pack("<QIIII", seq, len(payload), len(meta), 3, len(raw)) + bytes([2]) + bytes(7) + payload + meta
        frames += struct.pack("<II", 0x4650534C, crc32c(body)) + body
    (CORPUS / "spool_segment/three_frames.bin").write_bytes(frames)
    (CORPUS / "spool_segment/torn.bin").write_bytes(frames[:-5])


if __name__ == "__main__":
    main()
