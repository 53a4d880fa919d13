#!/usr/bin/env python3
"""The collector in a hostile world (SECURITY.md): clients may be anyone, log content is
written by attackers. Each case is an attack that worked before and must not now.

1. secure defaults: a non-loopback listener without authentication refuses to start
   (exit 2) unless `insecure: true`, which it then says loudly;
2. unauthenticated OTLP: 4 Export requests of ~15 MiB, millions of empty records, no token:
   refused before parsing (the collector stays under 300 MiB; it reached 3.8 GiB); with a
   token, an oversized request and a request of millions of records are refused by size and
   by count, not parsed;
3. event time: one OTLP request whose 3,000 records fall on 3,000 days creates a handful of
   partitions, not 3,005, and every record is stored;
4. replay: an authenticated client replaying another agent's captured frames cannot pre-empt
   its rows (ids are bound to the sender): the agent's own lines all arrive;
5. a token removed by a reload ends the streams that use it;
6. slowloris from many addresses cannot starve /healthz, which never shows sink errors;
7. attacker text in an agent id is escaped in the collector's log, and claimed agent ids
   cannot grow the metrics without bound;
8. one bad OTLP resource costs only itself (partial_success), not the resources after it;
9. the HTTP listener serves HTTPS (http.tls); dead-letter files stop at dead_letter_max_bytes
   (the rest counted), so refused records cannot fill the disk.
"""

import os
import pathlib
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

import common
import harness
import test_collector

TOKEN_A = "token-of-agent-alpha-0123456789"
TOKEN_M = "token-of-mallory-0123456789abcd"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def tokens_yaml(work):
    (work / "alpha.token").write_text(TOKEN_A + "\n")
    (work / "mallory.token").write_text(TOKEN_M + "\n")
    return ("auth:\n  tokens:\n"
            f"    - {{agent: alpha, token_file: {work / 'alpha.token'}}}\n"
            f"    - {{agent: mallory, token_file: {work / 'mallory.token'}}}\n")


def secure_defaults(env):
    cbin, work = env["collector_bin"], env["work"]
    cfg = work / "open.yaml"
    cfg.write_text(f"listen: 0.0.0.0:{harness.free_port()}\nsinks: {{blackhole: {{}}}}\nhttp: {{listen: \"\"}}\n")
    r = subprocess.run([str(cbin), "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "without authentication" in r.stderr, (r.returncode, r.stderr)
    r = subprocess.run([str(cbin), "--check-config", "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    cfg.write_text(cfg.read_text() + "insecure: true\n")
    proc = harness.Proc([cbin, "--config", cfg], work, name="collector-insecure")
    harness.wait_until(lambda: "INSECURE" in proc.log_tail(20), 20, what="the insecure warning")
    assert proc.terminate() == 0
    return "0.0.0.0 without tokens: exit 2 (and --check-config 2); insecure: true starts, saying so"


def otlp_memory(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc

    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env['port']}",
                                                                       options=[("grpc.max_send_message_length", -1)]))
    # ExportLogsServiceRequest{resource_logs{scope_logs{log_records: {} x N}}}, built by hand: fast.
    def request(records):
        scope = b"\x12\x00" * records                      # ScopeLogs.log_records = {} ...
        rl = b"\x12" + varint(len(scope)) + scope           # ResourceLogs.scope_logs
        return b"\x0a" + varint(len(rl)) + rl               # ExportLogsServiceRequest.resource_logs
    export = env["raw_export"]
    big = request(7_500_000)  # ~15 MiB
    refused = []
    threads = [threading.Thread(target=lambda: refused.append(export(big, None))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused == [grpc.StatusCode.UNAUTHENTICATED] * 4, refused
    assert export(big, TOKEN_A) == grpc.StatusCode.RESOURCE_EXHAUSTED  # over max_otlp_request_bytes
    assert export(request(3_000_000), TOKEN_A) == grpc.StatusCode.RESOURCE_EXHAUSTED  # 6 MiB, too many records
    peak = rss_kib(env["collector"].pid) / 1024
    assert peak < 300, f"collector peak RSS {peak:.0f} MiB"
    return f"4 x 15 MiB unauthenticated exports refused, oversized and over-count ones too; peak RSS {peak:.0f} MiB"


def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def event_time_partitions(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    pg = env["pg"]
    before = int(pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'logs'::regclass"))
    day = 86400 * 10**9
    now = time.time_ns()
    records = [logs_pb2.LogRecord(time_unix_nano=now - i * day, observed_time_unix_nano=now - i * day,
                                  body=common_pb2.AnyValue(string_value=f"day {i}")) for i in range(3000)]
    req = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
        resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(
            key="service.name", value=common_pb2.AnyValue(string_value="time-bomb"))]),
        scope_logs=[logs_pb2.ScopeLogs(log_records=records)])])
    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env['port']}"))
    stub.Export(req, metadata=[("authorization", f"Bearer {TOKEN_A}")], timeout=60)
    stored = int(pg.scalar("SELECT count(*) FROM logs WHERE source = 'time-bomb'"))
    assert stored == 3000, f"{stored} of 3000 stored"
    made = int(pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'logs'::regclass")) - before
    assert made <= 12, f"{made} partitions created"
    oldest = pg.scalar("SELECT round(extract(epoch FROM now() - min(ts)) / 86400) FROM logs WHERE source = 'time-bomb'")
    assert int(oldest) <= 15, f"oldest row {oldest} days back"  # observed held to 7 d, event time 7 d from it
    return f"3,000 records on 3,000 days: all stored, {made} partitions created, none older than {oldest} days"


def replay(env):
    """alpha's spooled frames, captured and replayed by mallory (her own valid token) first."""
    pg, work, abin = env["pg"], env["work"], env["agent_bin"]
    logs = work / "replay-logs"
    logs.mkdir()
    (work / "alpha.agent-token").write_text(TOKEN_A + "\n")
    away = harness.free_port()
    data = work / "alpha-data"
    cfg = work / "alpha-agent.yaml"

    def write_cfg(port):
        cfg.write_text(f"agent_id: alpha\ndata_dir: {data}\nsources:\n  - type: file\n    include: [\"{logs}/*.log\"]\n"
                       "    start_at: beginning\nbatch: {linger: 50ms}\n"
                       f"collector:\n  endpoints: [\"127.0.0.1:{port}\"]\n  token_file: {work / 'alpha.agent-token'}\n"
                       "  backoff_min: 50ms\n  backoff_max: 500ms\nhttp: {listen: \"\"}\n")
    write_cfg(away)
    agent = harness.Proc([abin, "--config", cfg], work, name="agent-alpha-offline")
    common.LineWriter(logs / "app.log").write(500)
    harness.wait_until(lambda: any(p.stat().st_size > 16 for p in (data / "spool").glob("*.seg")), 20,
                       what="alpha's spooled frame")
    time.sleep(1)
    assert agent.terminate() == 0
    # The capture: every frame of alpha's spool (FORMAT.md: 16-byte segment header, frames of
    # a 40-byte header, payload, meta).
    frames = []
    for seg in sorted((data / "spool").glob("*.seg")):
        raw = seg.read_bytes()
        at = 16
        while at + 40 <= len(raw):
            _, _, seq, plen, mlen, count, size, codec = struct.unpack_from("<IIQIIIIB", raw, at)
            frames.append((seq, count, size, codec, raw[at + 40: at + 40 + plen]))
            at += 40 + plen + mlen
    assert frames, "no frame captured"
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{env['port']}"))
    msgs = [ingest_pb2.BatchFrame(agent_id="mallory", sequence=seq, codec=codec, record_count=count,
                                  uncompressed_bytes=size, payload=payload) for seq, count, size, codec, payload in frames]
    acks = list(stub.Ship(iter(msgs), metadata=[("authorization", f"Bearer {TOKEN_M}")], timeout=30))
    assert len(acks) == len(frames) and all(a.status == ingest_pb2.BatchAck.OK for a in acks), acks
    write_cfg(env["port"])
    agent = harness.Proc([abin, "--config", cfg], work, name="agent-alpha")
    harness.wait_until(lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'alpha' AND source LIKE '%replay-logs%'")) >= 500, 30,
                       what="alpha's 500 lines")
    time.sleep(1)
    got = pg.query("SELECT agent_id, count(*), count(DISTINCT id) FROM logs WHERE agent_id IN ('alpha', 'mallory') AND source LIKE '%replay-logs%' GROUP BY 1 ORDER BY 1")
    assert got == [("alpha", "500", "500"), ("mallory", "500", "500")], got
    assert agent.terminate() == 0
    return f"mallory replayed {len(frames)} captured frame(s) first; alpha's 500 lines still all arrived as alpha's"


def token_revoked(env):
    pg, work, abin, cbin = env["pg"], env["work"], env["agent_bin"], env["collector_bin"]
    port = harness.free_port()
    cfg = work / "revoke.yaml"
    (work / "r.token").write_text("revocable-token-0123456789abcdef\n")
    base = f"listen: 127.0.0.1:{port}\nsinks:\n  postgres: {{dsn: \"{pg.dsn}\"}}\nhttp: {{listen: \"\"}}\n"
    cfg.write_text(base + f"auth: {{tokens: [{{agent: rev, token_file: {work / 'r.token'}}}]}}\n")
    collector = harness.Proc([cbin, "--config", cfg], work, name="collector-revoke")
    common.wait_healthy(cbin, port)
    logs = work / "revoke-logs"
    logs.mkdir()
    acfg = work / "rev-agent.yaml"
    acfg.write_text(f"agent_id: rev\ndata_dir: {work / 'rev-data'}\nsources:\n  - type: file\n"
                    f"    include: [\"{logs}/*.log\"]\n    start_at: beginning\nbatch: {{linger: 50ms}}\n"
                    f"collector:\n  endpoints: [\"127.0.0.1:{port}\"]\n  token_file: {work / 'r.token'}\n"
                    "  backoff_min: 50ms\n  backoff_max: 300ms\nhttp: {listen: \"\"}\n")
    agent = harness.Proc([abin, "--config", acfg], work, name="agent-rev")
    w = common.LineWriter(logs / "app.log")
    w.write(10)
    rows = lambda: int(pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'rev'"))
    harness.wait_until(lambda: rows() == 10, 20, what="10 rows before the revocation")
    (work / "other.token").write_text("a-different-token-0123456789abc\n")
    cfg.write_text(base + f"auth: {{tokens: [{{agent: other, token_file: {work / 'other.token'}}}]}}\n")
    os.kill(collector.pid, signal.SIGHUP)
    time.sleep(1)
    w.write(10)
    time.sleep(3)
    assert rows() == 10, f"{rows()} rows: the revoked token's stream still writes"
    assert "refused" in agent.log_tail(20), agent.log_tail(20)
    agent.kill9()
    assert collector.terminate() == 0
    return "after a reload without its token, the open stream wrote nothing more (the agent was refused)"


def slowloris(env):
    http_port = env["http"]
    stop = threading.Event()
    socks = []

    def trickle(src):
        try:
            s = socket.create_connection(("127.0.0.1", http_port), timeout=5, source_address=(src, 0))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
            while not stop.is_set():
                s.sendall(b"X-a: b\r\n")
                stop.wait(5)
        except OSError:
            pass
    threads = [threading.Thread(target=trickle, args=(f"127.0.0.{2 + i // 64}",), daemon=True) for i in range(300)]
    for t in threads:
        t.start()
    time.sleep(2)
    held = len(socks)
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as r:
            code, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read().decode()
    took = time.monotonic() - t0
    stop.set()
    for s in socks:
        s.close()
    assert code in (200, 503) and took < 2, (code, took)
    return f"/healthz answered in {took * 1000:.0f} ms while {held} slow connections from 5 addresses were held"


def healthz_no_leak(env):
    work, cbin = env["work"], env["collector_bin"]
    port, http = harness.free_port(), harness.free_port()
    cfg = work / "leak.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\nsinks:\n  postgres:\n"
                   f"    dsn: \"host=127.0.0.1 port={harness.free_port()} dbname=secretdb user=secretuser\"\n"
                   f"http: {{listen: 127.0.0.1:{http}}}\nhealth: {{check_interval: 100ms, unhealthy_after: 200ms}}\n")
    proc = harness.Proc([cbin, "--config", cfg], work, name="collector-leak")
    def body():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/healthz", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return None
    got = harness.wait_until(lambda: (lambda b: b if b and b[0] == 503 else None)(body()), 20, what="503")
    assert "secret" not in got[1] and "127.0.0.1" not in got[1], got
    assert "postgres" in got[1], got
    assert proc.terminate() == 0
    return f"/healthz says {got[1].strip()!r}, without hosts or users"


def escaping_and_cardinality(env):
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{env['noauth_port']}"))
    evil = "evil\n2026-01-01T00:00:00.000Z error collector: FORGED \x1b[31m"
    try:
        list(stub.Ship(iter([ingest_pb2.BatchFrame(agent_id=evil, sequence=1, codec=7, record_count=1,
                                                   uncompressed_bytes=1, payload=b"x")]), timeout=10))
    except grpc.RpcError:
        pass
    time.sleep(0.5)
    log = env["noauth"].log_path.read_text(errors="replace")
    assert "\nFORGED" not in log and "\n2026-01-01T00:00:00.000Z error collector: FORGED" not in log, "log line forged"
    assert "\x1b" not in log, "terminal escape reached the log"
    assert "evil\\x0a2026" in log, log[-2000:]
    from logship.v1 import record_pb2
    batch = lambda a: record_pb2.Batch(agent_id=a.encode(), sources=[record_pb2.Source(name=b"s")],
                                       records=[record_pb2.LogRecord(id=os.urandom(16), body=b"x",
                                                                     observed_time_unix_nano=time.time_ns())])
    msgs = []
    for i in range(2100):
        raw = batch(f"claimed-{i}").SerializeToString()
        msgs.append(ingest_pb2.BatchFrame(agent_id=f"claimed-{i}", sequence=i + 1, codec=ingest_pb2.CODEC_NONE,
                                          record_count=1, uncompressed_bytes=len(raw), payload=raw))
    acks = list(stub.Ship(iter(msgs), timeout=120))
    assert len(acks) == 2100, len(acks)
    with urllib.request.urlopen(f"http://127.0.0.1:{env['noauth_http']}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    series = [l for l in metrics.splitlines() if l.startswith("logship_collector_records_received_total{")]
    assert len(series) <= 2001 and any('agent="_other"' in l for l in series), len(series)
    return f"a forged log line came out as one escaped line; 2,100 claimed agent ids made {len(series)} series"


def otlp_bad_resource(env):
    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.logs.v1 import logs_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2

    def resource(name, attrs=1):
        return logs_pb2.ResourceLogs(
            resource=resource_pb2.Resource(attributes=[common_pb2.KeyValue(
                key="service.name", value=common_pb2.AnyValue(string_value=name))] + [
                common_pb2.KeyValue(key=f"k{i}", value=common_pb2.AnyValue(string_value="v")) for i in range(attrs)]),
            scope_logs=[logs_pb2.ScopeLogs(log_records=[logs_pb2.LogRecord(
                time_unix_nano=time.time_ns(), body=common_pb2.AnyValue(string_value=f"{name} {i}")) for i in range(5)])])
    req = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[
        resource("res-before"), resource("res-bad", attrs=300), resource("res-after")])
    stub = logs_service_pb2_grpc.LogsServiceStub(grpc.insecure_channel(f"127.0.0.1:{env['port']}"))
    resp = stub.Export(req, metadata=[("authorization", f"Bearer {TOKEN_A}")], timeout=30)
    assert resp.partial_success.rejected_log_records == 5, resp
    got = env["pg"].query("SELECT source, count(*) FROM logs WHERE source LIKE 'res-%' GROUP BY 1 ORDER BY 1")
    assert got == [("res-after", "5"), ("res-before", "5")], got
    return f"the bad resource (300 attributes) rejected alone ({resp.partial_success.error_message!r}); 10 stored"


def https_and_dead_letter_bound(env):
    import grpc
    from logship.v1 import ingest_pb2, ingest_pb2_grpc, record_pb2
    import ssl
    work, cbin = env["work"], env["collector_bin"]
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(work / "http.key"), "-out", str(work / "http.crt")], check=True, capture_output=True)
    port, http = harness.free_port(), harness.free_port()
    data = work / "bounded-data"
    cfg = work / "bounded.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\ndata_dir: {data}\ndead_letter_max_bytes: 1MiB\n"
                   "limits: {max_attribute_bytes: 1KiB}\nsinks: {blackhole: {}}\n"
                   f"http: {{listen: 127.0.0.1:{http}, tls: {{cert_file: {work / 'http.crt'}, key_file: {work / 'http.key'}}}}}\n")
    proc = harness.Proc([cbin, "--config", cfg], work, name="collector-bounded")
    common.wait_healthy(cbin, port)
    ctx = ssl.create_default_context(cafile=str(work / "http.crt"))
    with urllib.request.urlopen(f"https://127.0.0.1:{http}/healthz", context=ctx, timeout=5) as r:
        assert r.status == 200, r.status
    stub = ingest_pb2_grpc.IngestStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
    msgs = []
    for i in range(400):  # 400 batches, each one record with a 4 KB attribute: 1.6 MB of dead letters
        b = record_pb2.Batch(agent_id=b"flooder", sources=[record_pb2.Source(name=b"s")], records=[
            record_pb2.LogRecord(id=os.urandom(16), body=b"x", observed_time_unix_nano=time.time_ns(),
                                 attributes=[record_pb2.KeyValue(key=b"big", value=b"v" * 4000)])])
        raw = b.SerializeToString()
        msgs.append(ingest_pb2.BatchFrame(agent_id="flooder", sequence=i + 1, codec=ingest_pb2.CODEC_NONE,
                                          record_count=1, uncompressed_bytes=len(raw), payload=raw))
    acks = list(stub.Ship(iter(msgs), timeout=120))
    assert len(acks) == 400 and all(a.status == ingest_pb2.BatchAck.OK for a in acks), acks[:3]
    size = (data / "dead-letter" / "ingest-dead-letter.ndjson").stat().st_size
    assert size <= 1 << 20, size
    with urllib.request.urlopen(f"https://127.0.0.1:{http}/metrics", context=ctx, timeout=5) as r:
        metrics = r.read().decode()
    dropped = float(re.search(r'logship_collector_dead_letters_dropped_total\{sink="ingest"\} (\S+)', metrics).group(1))
    assert dropped > 0, metrics
    assert proc.terminate() == 0
    return f"/healthz over HTTPS; 400 refused records: the dead-letter file stopped at {size} bytes, {dropped:.0f} counted"


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    test_collector.stubs()
    work = harness.make_workdir("logship-security")
    passed = 0
    with harness.PostgresServer() as pg:
        port, http = harness.free_port(), harness.free_port()
        cfg = work / "collector.yaml"
        cfg.write_text(test_collector.collector_yaml(port, pg, http) + tokens_yaml(work))
        collector = common.start_collector(collector_bin, cfg, work)
        common.wait_healthy(collector_bin, port)
        noauth_port, noauth_http = harness.free_port(), harness.free_port()
        ncfg = work / "noauth.yaml"
        ncfg.write_text(f"listen: 127.0.0.1:{noauth_port}\nsinks: {{blackhole: {{}}}}\n"
                        f"http: {{listen: 127.0.0.1:{noauth_http}}}\n")
        noauth = common.start_collector(collector_bin, ncfg, work, name="collector-noauth")
        common.wait_healthy(collector_bin, noauth_port)

        import grpc

        def raw_export(body, token):
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", -1)])
            call = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                                       request_serializer=lambda b: b, response_deserializer=lambda b: b)
            md = [("authorization", f"Bearer {token}")] if token else []
            try:
                call(body, metadata=md, timeout=60)
                return grpc.StatusCode.OK
            except grpc.RpcError as e:
                return e.code()
            finally:
                channel.close()

        env = {"work": work, "pg": pg, "port": port, "http": http, "collector": collector, "agent_bin": agent_bin,
               "collector_bin": collector_bin, "raw_export": raw_export, "noauth": noauth,
               "noauth_port": noauth_port, "noauth_http": noauth_http}
        only = os.environ.get("LOGSHIP_SCENARIO")
        for case in (secure_defaults, otlp_memory, event_time_partitions, replay, token_revoked, slowloris,
                     healthz_no_leak, escaping_and_cardinality, otlp_bad_resource, https_and_dead_letter_bound):
            if only and case.__name__ != only:
                continue
            try:
                note = case(env)
            except BaseException:
                print(f"FAILED: {case.__name__}\n--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
                for p in harness._procs[-3:]:
                    print(f"--- {p.name} ---\n{p.log_tail(15)}", file=sys.stderr)
                raise
            print(f"ok {case.__name__}: {note}")
            passed += 1
        assert collector.terminate() == 0
    print(f"security: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
