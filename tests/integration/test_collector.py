#!/usr/bin/env python3
"""The collector between real processes:

1. pipeline: json, regex, kv, set and drop with `when`, time/severity extraction, and
   trace_id/correlation_id columns, end to end into PostgreSQL;
2. hostile frames from a raw gRPC client (unknown codec, zstd bomb, absurd sizes, garbage,
   1,000,000 records) → INVALID_ARGUMENT / RESOURCE_EXHAUSTED, the process survives;
3. health: PostgreSQL down → logship.v1.Ingest NOT_SERVING (and /healthz 503), back → SERVING;
4. SIGHUP on both binaries: a bad file is reported and ignored, a good one is applied;
5. OTLP/gRPC Export from a real grpcio client: mapping, retries deduplicated, deep nesting.
"""

import os
import pathlib
import signal
import datetime
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import common
import harness

REPO = pathlib.Path(__file__).resolve().parents[2]


def stubs():
    """Python stubs generated from proto/ with grpc_tools (Debian's python3-grpc-tools)."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="logship-stubs-"))
    protos = [str(p.relative_to(REPO / "proto")) for p in (REPO / "proto").rglob("*.proto")]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{REPO / 'proto'}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *protos], check=True, cwd=REPO / "proto")
    sys.path.insert(0, str(out))


def collector_yaml(port, pg, http_port, pipeline="", extra=""):
    return (f"listen: 127.0.0.1:{port}\n"
            "sinks:\n  postgres:\n"
            f"    dsn: \"{pg.dsn}\"\n"
            f"http: {{listen: 127.0.0.1:{http_port}}}\n"
            "health: {check_interval: 200ms, unhealthy_after: 1s}\n" + pipeline + extra)


PIPELINE = r"""pipeline:
  - json: {when: {source: '*.json.log'}}
  - regex: {pattern: '^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+)', when: {source: '*nginx*'}}
  - kv: {when: {source: '*kv.log'}}
  - set: {env: prod}
  - drop: {when: {attributes: {level: debug}}}
"""


def pipeline_case(env):
    d = env["work"] / "pipe"
    d.mkdir()
    day = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).strftime("%Y-%m-%d")
    (d / "app.json.log").write_text(
        '{"ts":"' + day + 'T10:00:00.5Z","level":"error","msg":"boom","trace_id":"abc123","user":{"id":7},"tags":["a","b"]}\n'
        '{"level":"debug","msg":"noise"}\n'
        "not json at all\n"
        # Hostile times: far in the past and the future (clamped, original kept), out of range
        # (a year that overflows nanoseconds: not a time), a JSON nested 200,000 levels deep.
        '{"ts":"2001-01-01T00:00:00Z","msg":"backdated"}\n'
        '{"ts":"2099-01-01T00:00:00Z","msg":"from the future"}\n'
        '{"ts":"9999-12-31T23:59:59Z","msg":"year 9999"}\n'
        '{"ts":99999999999999999999,"msg":"20 digits"}\n' + "[" * 200_000 + "\n")
    (d / "nginx.log").write_text('10.0.0.1 - - [22/Nov/2026:13:00:00 +0000] "GET /api HTTP/1.1" 200 5\n')
    (d / "kv.log").write_text('level=warn user="Jane Doe" op=login correlation_id=req-42\n')
    agent = env["agent"](d, "pipe")
    pg = env["pg"]
    harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id='pipe'")) >= 9, 30,
                       what="pipeline rows")
    time.sleep(0.5)
    q = lambda sql: pg.query(sql)
    assert int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id='pipe'")) == 9, "the debug line was not dropped"
    row = q("SELECT ts, severity, trace_id, attributes->>'user.id', attributes->>'tags', attributes->>'env' "
            "FROM logs WHERE body LIKE '%boom%'")[0]
    assert row == (f"{day} 10:00:00.5+00", "17", "abc123", "7", '["a","b"]', "prod"), row
    # Event time held to 7 days before / 1 hour after the observed time; the original kept.
    row = q("SELECT round(extract(epoch FROM observed_ts - ts) / 3600), attributes->>'logship.original_time' "
            "FROM logs WHERE body LIKE '%backdated%'")[0]
    assert row == ("168", "978307200000000000"), row
    row = q("SELECT round(extract(epoch FROM ts - observed_ts) / 60), attributes ? 'logship.original_time' "
            "FROM logs WHERE body LIKE '%from the future%'")[0]
    assert row == ("60", "t"), row
    row = q("SELECT count(*) FILTER (WHERE ts = observed_ts) FROM logs WHERE body LIKE '%year 9999%' OR body LIKE '%20 digits%'")[0]
    assert row == ("2",), row
    row = q("SELECT attributes->>'logship.failed_stage', length(body) FROM logs WHERE body LIKE '[[[[%'")[0]
    assert row == ("json", "200000"), row
    row = q("SELECT attributes->>'logship.failed_stage', attributes->>'env' FROM logs WHERE body = 'not json at all'")[0]
    assert row == ("json", "prod"), row
    row = q("SELECT attributes->>'client', attributes->>'method', attributes->>'path' FROM logs "
            "WHERE source LIKE '%nginx.log'")[0]
    assert row == ("10.0.0.1", "GET", "/api"), row
    row = q("SELECT severity, correlation_id, attributes->>'user', attributes->>'op' FROM logs WHERE source LIKE '%kv.log'")[0]
    assert row == ("13", "req-42", "Jane Doe", "login"), row
    assert common.scrape_metric(env["http"], "logship_collector_pipeline_dropped_total") == 1
    agent.terminate()
    return "json/regex/kv/set/drop, ts, severity, trace_id and correlation_id columns"


def bad_frames_case(env):
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{env['port']}")
    stub = ingest_pb2_grpc.IngestStub(channel)
    bomb = subprocess.run("head -c 100000000 /dev/zero | zstd -19 -q -c", shell=True, check=True,
                          capture_output=True).stdout
    F = ingest_pb2.BatchFrame
    cases = {
        "unknown codec": (F(agent_id="evil", sequence=1, codec=7, record_count=1, uncompressed_bytes=3, payload=b"abc"),
                          grpc.StatusCode.INVALID_ARGUMENT),
        "zstd bomb": (F(agent_id="evil", sequence=2, codec=ingest_pb2.CODEC_ZSTD, record_count=1,
                        uncompressed_bytes=1000, payload=bomb), grpc.StatusCode.INVALID_ARGUMENT),
        "claims 4 GiB": (F(agent_id="evil", sequence=3, codec=ingest_pb2.CODEC_ZSTD, record_count=1,
                           uncompressed_bytes=4 << 30, payload=bomb), grpc.StatusCode.RESOURCE_EXHAUSTED),
        "1,000,000 records": (F(agent_id="evil", sequence=4, codec=ingest_pb2.CODEC_NONE, record_count=1_000_000,
                                uncompressed_bytes=2_000_000, payload=b"\x22\x00" * 1_000_000),
                              grpc.StatusCode.RESOURCE_EXHAUSTED),
        "garbage protobuf": (F(agent_id="evil", sequence=5, codec=ingest_pb2.CODEC_NONE, record_count=1,
                               uncompressed_bytes=100, payload=b"\xff" * 100), grpc.StatusCode.INVALID_ARGUMENT),
        "no agent id": (F(sequence=6, codec=ingest_pb2.CODEC_NONE, payload=b""), grpc.StatusCode.INVALID_ARGUMENT),
    }
    for name, (frame, code) in cases.items():
        call = stub.Ship(iter([frame]), timeout=10)
        try:
            for _ in call:
                pass
            raise AssertionError(f"{name}: accepted")
        except grpc.RpcError as e:
            assert e.code() == code, f"{name}: {e.code()} {e.details()}"
            if frame.sequence:
                trailers = dict(call.trailing_metadata() or ())
                assert trailers.get("logship-rejected-sequence") == str(frame.sequence), (name, trailers)
    common.wait_healthy(env["collector_bin"], env["port"], timeout=5)
    assert common.scrape_metric(env["http"], "logship_collector_frames_rejected_total") == len(cases)
    return f"{len(cases)} hostile frames refused with the right status; collector healthy"


def health_case(env):
    probe = lambda svc: subprocess.run([str(env["collector_bin"]), "healthcheck", "--address",
                                        f"127.0.0.1:{env['port']}", "--service", svc, "--timeout-ms", "1000"],
                                       capture_output=True).returncode
    assert probe("logship.v1.Ingest") == 0
    env["pg"].stop_server()
    try:
        harness.wait_until(lambda: probe("logship.v1.Ingest") != 0, 15, what="Ingest NOT_SERVING")
        assert probe("") == 0, "the process itself must stay SERVING"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{env['http']}/healthz", timeout=5)
            raise AssertionError("/healthz said ok with the sink down")
        except urllib.error.HTTPError as e:
            assert e.code == 503
    finally:
        env["pg"].start_server()
    harness.wait_until(lambda: probe("logship.v1.Ingest") == 0, 30, what="Ingest SERVING again")
    return "NOT_SERVING while PostgreSQL was down, SERVING after"


def reload_case(env):
    work, pg = env["work"], env["pg"]
    cfg = env["collector_cfg"]
    good = cfg.read_text()
    cfg.write_text(good.replace("pipeline:\n", "pipeline:\n  - regex: {pattern: '(?P<broken'}\n"))
    env["collector"].popen.send_signal(signal.SIGHUP)
    harness.wait_until(lambda: "reload failed" in env["collector"].log_tail(50), 10, what="collector reload error")
    cfg.write_text(good.replace("  - set: {env: prod}\n", "  - set: {env: prod, reloaded: 'yes'}\n"))
    env["collector"].popen.send_signal(signal.SIGHUP)
    harness.wait_until(lambda: "configuration reloaded" in env["collector"].log_tail(50), 10, what="collector reload")

    a, b = work / "reload-a", work / "reload-b"
    a.mkdir()
    b.mkdir()
    (a / "x.log").write_text("first line in a\n")
    agent = env["agent"](a, "reloader")
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs WHERE agent_id='reloader'") == "1", 30,
                       what="first agent row")
    assert pg.scalar("SELECT attributes->>'reloaded' FROM logs WHERE agent_id='reloader'") == "yes"
    acfg = agent.cfg
    text = acfg.read_text()
    acfg.write_text(text + "bogus_key: 1\n")
    agent.popen.send_signal(signal.SIGHUP)
    harness.wait_until(lambda: "reload failed" in agent.log_tail(50), 10, what="agent reload error")
    with open(a / "x.log", "a") as f:
        f.write("second line in a\n")
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs WHERE agent_id='reloader'") == "2", 30,
                       what="the agent still ships after a bad reload")
    acfg.write_text(text.replace(f'include: ["{a}/*.log"]', f'include: ["{a}/*.log", "{b}/*.log"]'))
    agent.popen.send_signal(signal.SIGHUP)
    (b / "y.log").write_text("line in b\n")
    harness.wait_until(lambda: pg.scalar("SELECT count(*) FROM logs WHERE agent_id='reloader'") == "3", 30,
                       what="the reloaded source")
    time.sleep(0.5)
    assert pg.scalar("SELECT count(*) FROM logs WHERE agent_id='reloader'") == "3", "duplicates after reload"
    agent.terminate()
    return "bad files rejected and reported, good ones applied (collector and agent)"


def otlp_case(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    def s(v):
        return common_pb2.AnyValue(string_value=v)

    def nested(levels):
        v = common_pb2.AnyValue(string_value="bottom")
        for i in range(levels):
            v = common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=[common_pb2.KeyValue(key=f"l{i}", value=v)]))
        return v
    deep = nested(20)  # within protobuf's parse limit, beyond logship's JSON depth of 16
    now = time.time_ns()
    records = [
        logs_pb2.LogRecord(time_unix_nano=now, severity_number=17, severity_text="ERROR", body=s("payment failed"),
                           trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), span_id=bytes.fromhex("b7ad6b7169203331"),
                           attributes=[common_pb2.KeyValue(key="order_id", value=common_pb2.AnyValue(int_value=42)),
                                       common_pb2.KeyValue(key="correlation_id", value=s("req-7"))]),
        logs_pb2.LogRecord(time_unix_nano=now + 1, severity_text="warn", body=s("slow upstream")),
        logs_pb2.LogRecord(time_unix_nano=now + 2, body=deep),
    ]
    req = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(key="service.name", value=s("checkout")),
                                                   common_pb2.KeyValue(key="host.name", value=s("otel-host"))]),
        scope_logs=[logs_pb2.ScopeLogs(log_records=records)])])
    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env['port']}"))
    stub.Export(req, timeout=10)
    stub.Export(req, timeout=10)  # a client retry: no duplicates
    too_deep = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        scope_logs=[logs_pb2.ScopeLogs(log_records=[logs_pb2.LogRecord(body=nested(60))])])])
    try:
        stub.Export(too_deep, timeout=10)
        raise AssertionError("a request nested 180 messages deep was accepted")
    except grpc.RpcError as e:
        assert e.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT), e.code()
    pg = env["pg"]
    harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE source = 'checkout'")) >= 3, 10,
                       what="OTLP rows")
    assert pg.scalar("SELECT count(*) FROM logs WHERE source = 'checkout'") == "3", "a retried export duplicated rows"
    row = pg.query("SELECT host, agent_id, severity, trace_id, correlation_id, attributes->>'order_id', "
                   "attributes->>'span_id', attributes->>'service.name' FROM logs WHERE body = 'payment failed'")[0]
    assert row == ("otel-host", "otlp", "17", "0af7651916cd43dd8448eb211c80319c", "req-7", "42", "b7ad6b7169203331",
                   "checkout"), row
    assert pg.scalar("SELECT severity FROM logs WHERE body = 'slow upstream'") == "13"
    deep_body = pg.scalar("SELECT body FROM logs WHERE source = 'checkout' AND body LIKE '{%'")
    assert "…" in deep_body and "bottom" not in deep_body, deep_body[:200]
    common.wait_healthy(env["collector_bin"], env["port"], timeout=5)
    return "mapped (service, host, severity, trace/span ids, attributes), retry deduplicated, deep nesting cut or refused"


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    stubs()
    work = harness.make_workdir("logship-collector")
    passed = 0
    with harness.PostgresServer() as pg:
        port, http_port = harness.free_port(), harness.free_port()
        cfg = work / "collector.yaml"
        cfg.write_text(collector_yaml(port, pg, http_port, PIPELINE))
        collector = common.start_collector(collector_bin, cfg, work)
        common.wait_healthy(collector_bin, port)

        def start_agent(directory, agent_id):
            acfg = common.write_agent_config(work / agent_id if (work / agent_id).exists() else _mk(work / agent_id),
                                             port, f"{directory}/*.log", agent_id=agent_id,
                                             extra="http: {listen: \"\"}\n")
            proc = harness.Proc([agent_bin, "--config", acfg], work, name=f"agent-{agent_id}")
            proc.cfg = acfg
            return proc

        env = {"work": work, "pg": pg, "port": port, "http": http_port, "collector": collector,
               "collector_cfg": cfg, "collector_bin": collector_bin, "agent": start_agent}
        for case in (pipeline_case, bad_frames_case, health_case, reload_case, otlp_case):
            try:
                note = case(env)
            except BaseException:
                print(f"FAILED: {case.__name__}\n--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
                for p in harness._procs[-2:]:
                    print(f"--- {p.name} ---\n{p.log_tail(20)}", file=sys.stderr)
                raise
            assert collector.alive(), f"{case.__name__}: the collector died"
            print(f"ok {case.__name__}: {note}")
            passed += 1
        assert collector.terminate() == 0
    print(f"collector: {passed} passed, 0 failed")


def _mk(path):
    path.mkdir(parents=True)
    return path


if __name__ == "__main__":
    main()
