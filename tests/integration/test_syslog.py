#!/usr/bin/env python3
"""syslog source end to end: a real PostgreSQL, a real collector, a real agent.

1. util-linux `logger`: RFC 5424 over TCP (LF framing and --octet-count, structured data),
   over UDP, and RFC 3164: every message one row, fields mapped to attributes;
2. TLS (python ssl) in both framings; a plain client on the TLS port is closed and counted;
3. malformed input (no PRI, binary, an absurd octet count): shipped raw and flagged, counted;
4. identity: messages spooled while the collector is away, the agent killed (-9) and
   restarted: each arrives once; then every spooled frame is sent again (the spool's `acked`
   file removed, as if the acks were lost): the collector receives them again, PostgreSQL
   keeps one row each (the ids travel in the spool);
5. backpressure: a second agent with a 256 KiB spool and no collector: a TCP client sending
   without pause is blocked (its writes stop) and loses nothing once a collector comes;
   UDP sent meanwhile is shipped or counted as dropped (`reason="paused"`), nothing else;
6. throughput: 200,000 messages over one TCP connection (the agent's read rate), and logger
   into the agent against logger into a socket that discards (same run).
"""

import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

import common
import harness

HOST = socket.gethostname()


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(port, name, **labels):
    """Sum of the series of `name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for m in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", metrics(port), re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def logger(*args, lines):
    subprocess.run(["logger", *args], input="".join(f"{l}\n" for l in lines), text=True, check=True, timeout=60)


def counted(msg: bytes) -> bytes:
    return str(len(msg)).encode() + b" " + msg


class Env:
    def __init__(self, agent_bin, collector_bin, pg, work):
        self.agent_bin, self.collector_bin, self.pg, self.work = agent_bin, collector_bin, pg, work
        self.tcp, self.udp, self.tls = harness.free_port(), free_udp_port(), harness.free_port()
        self.http = harness.free_port()
        self.cert, self.key = work / "syslog.crt", work / "syslog.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.key), "-out", str(self.cert)], check=True, capture_output=True)
        self.starts = 0

    def agent_config(self, name, collector_port, http_port, listen, extra=""):
        path = self.work / f"{name}.yaml"
        path.write_text(
            f"agent_id: {name}\n"
            f"data_dir: {self.work / (name + '-data')}\n"
            "sources:\n"
            "  - type: syslog\n"
            "    name: syslog-in\n"
            "    listen:\n" + listen +
            "    attributes: {pipeline: syslog-test}\n"
            "batch: {max_records: 2000, max_bytes: 1MiB, linger: 100ms}\n"
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{collector_port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 500ms\n"
            f"http: {{listen: 127.0.0.1:{http_port}}}\n" + extra)
        return path

    def start_agent(self, cfg, http_port):
        self.starts += 1
        proc = harness.Proc([self.agent_bin, "--config", cfg], self.work, name=f"agent-{self.starts}")
        harness.wait_until(lambda: proc.log_tail(100).count("listening on") >= cfg.read_text().count("protocol:"), 20,
                           what="syslog listeners up")
        harness.wait_until(lambda: _healthy(http_port), 10, what="agent /healthz ok")
        return proc

    def rows(self, where, agent="syslog-agent"):
        return int(self.pg.scalar(f"SELECT count(*) FROM logs WHERE agent_id = '{agent}' AND ({where})"))

    def expect(self, where, n, timeout=30, agent="syslog-agent"):
        """Exactly n rows match, each body once."""
        try:
            harness.wait_until(lambda: self.rows(where, agent) >= n, timeout, interval=0.2, what=f"{n} rows: {where}")
        except TimeoutError:
            raise AssertionError(f"{self.rows(where, agent)} of {n} rows: {where}")
        time.sleep(0.5)
        total, distinct = self.pg.query(
            f"SELECT count(*), count(DISTINCT body) FROM logs WHERE agent_id = '{agent}' AND ({where})")[0]
        assert (int(total), int(distinct)) == (n, n), f"{where}: {total} rows, {distinct} distinct bodies, expected {n}"


def _healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def check_logger(env):
    logger("--rfc5424", "--tcp", "-n", "127.0.0.1", "-P", str(env.tcp), "-t", "tcp-lf",
           lines=[f"s=lf-{i}" for i in range(200)])
    logger("--rfc5424", "--tcp", "--octet-count", "-n", "127.0.0.1", "-P", str(env.tcp), "-t", "tcp-oc",
           "--msgid", "ID47", "--sd-id", "zoo@123", "--sd-param", 'tiger="hungry"',
           lines=[f"s=oc-{i}" for i in range(200)])
    for i in range(0, 200, 20):  # in bursts: UDP has no backpressure, the kernel's buffer is small
        logger("--udp", "-n", "127.0.0.1", "-P", str(env.udp), "-t", "udp5424", lines=[f"s=udp-{i + k}" for k in range(20)])
    logger("--rfc3164", "--udp", "-n", "127.0.0.1", "-P", str(env.udp), "-t", "bsd", "-p", "local3.warning",
           lines=[f"s=bsd-{i}" for i in range(50)])
    for source, n in (("tcp-lf", 200), ("tcp-oc", 200), ("udp5424", 200), ("bsd", 50)):
        env.expect(f"source = '{source}'", n)
    row = env.pg.query("SELECT body, severity, attributes::text, extract(epoch from now() - ts) FROM logs "
                       "WHERE body = 's=oc-7'")[0]
    assert row[1] == "10", row  # logger's default priority, user.notice: OpenTelemetry INFO2
    attrs = row[2]
    for needle in ('"syslog.appname": "tcp-oc"', '"syslog.msgid": "ID47"', '"syslog.sd.zoo@123.tiger": "hungry"',
                   '"syslog.sd.timeQuality.tzKnown": "1"', '"syslog.facility": "user"', '"syslog.peer": "127.0.0.1"',
                   '"pipeline": "syslog-test"', f'"syslog.hostname": "{HOST}"'):
        assert needle in attrs, (needle, attrs)
    assert abs(float(row[3])) < 60, f"event time {row[3]} s from now"
    bsd = env.pg.query("SELECT severity, attributes->>'syslog.facility', attributes->>'syslog.severity', "
                       "attributes->>'syslog.hostname', extract(epoch from now() - ts) FROM logs WHERE body = 's=bsd-3'")[0]
    assert bsd[:4] == ("13", "local3", "warning", HOST), bsd
    assert abs(float(bsd[4])) < 60, f"RFC 3164 event time {bsd[4]} s from now"
    assert metric(env.http, "logship_agent_syslog_messages_received_total", protocol="tcp") == 400
    assert metric(env.http, "logship_agent_syslog_messages_received_total", protocol="udp") == 250
    return "logger: 200 RFC 5424 LF-framed + 200 octet-counted over TCP, 200 RFC 5424 + 50 RFC 3164 over UDP"


def check_tls(env):
    ctx = ssl.create_default_context(cafile=str(env.cert))
    with socket.create_connection(("127.0.0.1", env.tls)) as raw, ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        data = b"".join(counted(f"<134>1 - tlshost tls-app 9 - - s=tls-oc-{i}".encode()) for i in range(100))
        data += b"".join(f"<134>1 - tlshost tls-app 9 - - s=tls-lf-{i}\n".encode() for i in range(100))
        s.sendall(data)
        s.unwrap()  # close_notify
    env.expect("source = 'tls-app'", 200)
    assert env.rows("source = 'tls-app' AND severity = 9 AND attributes->>'syslog.procid' = '9'") == 200
    # A plain client on the TLS port: the handshake fails, the connection is closed and counted.
    with socket.create_connection(("127.0.0.1", env.tls)) as s:
        s.sendall(b"<13>1 - - - - - - s=plain-on-tls\n")
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    harness.wait_until(lambda: metric(env.http, "logship_agent_syslog_connections_closed_total", reason="tls") >= 1, 5,
                       what="TLS failure counted")
    assert env.rows("body LIKE '%s=plain-on-tls%'") == 0
    assert metric(env.http, "logship_agent_syslog_messages_received_total", protocol="tls") == 200
    return "TLS: 100 octet-counted + 100 LF-framed over TLS 1.3; a plain client on the TLS port refused and counted"


def check_malformed(env):
    with socket.create_connection(("127.0.0.1", env.tcp)) as s:
        s.sendall(b"this is not syslog s=bad-1\n<999>1 - - - - - - s=bad-2\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b"\xff\x00 binary junk s=bad-3", ("127.0.0.1", env.udp))
    with socket.create_connection(("127.0.0.1", env.tcp)) as s:
        s.sendall(b"<13>1 - h ok - - - s=bad-4 before the bad count\n9999999 s=bad-5 absurd octet count")
        s.settimeout(5)
        assert s.recv(100) == b"", "the connection stays open after a framing error"
    env.expect("body LIKE '%s=bad-%'", 5)
    flagged = dict(env.pg.query("SELECT substring(body from 's=bad-\\d'), attributes->>'syslog.parse_error' FROM logs "
                                "WHERE body LIKE '%s=bad-%'"))
    assert flagged["s=bad-1"] == "no valid PRI", flagged
    assert flagged["s=bad-2"] == "no valid PRI", flagged
    assert flagged["s=bad-3"] == "no valid PRI", flagged
    assert flagged["s=bad-4"] is None or flagged["s=bad-4"] == "", flagged
    assert flagged["s=bad-5"] == "octet count out of range", flagged
    body, escaped = env.pg.query("SELECT body, attributes->>'logship.escaped' FROM logs WHERE body LIKE '%s=bad-3'")[0]
    assert body == "\\xff\\x00 binary junk s=bad-3" and escaped == "true", (body, escaped)
    assert env.rows("body = '9999999 s=bad-5 absurd octet count'") == 1
    assert metric(env.http, "logship_agent_syslog_parse_failures_total") == 3
    assert metric(env.http, "logship_agent_syslog_framing_errors_total") == 1
    return "malformed: no PRI, PRI 999, binary over UDP, an absurd octet count: all shipped raw and flagged, counted"


def check_restart(env, cfg, agent, collector, collector_cfg, collector_port, chttp):
    """Spooled while the collector is away, kill -9, restart: once each. Then a re-send of frames
    PostgreSQL already holds (the agent killed between the commit and the ack): still once."""
    assert collector.terminate() == 0
    spooled = metric(env.http, "logship_agent_records_spooled_total")
    logger("--rfc5424", "--tcp", "-n", "127.0.0.1", "-P", str(env.tcp), "-t", "restart",
           lines=[f"s=restart-{i}" for i in range(500)])
    harness.wait_until(lambda: metric(env.http, "logship_agent_records_spooled_total") >= spooled + 500, 20,
                       what="500 messages spooled")
    agent.kill9()
    # A collector that acks 3 s after PostgreSQL committed (a slow second sink): the agent is
    # killed in between, so the frame is sent again to a PostgreSQL that has its rows.
    slow_cfg = env.work / "collector-slow.yaml"
    slow_cfg.write_text(collector_cfg.read_text().replace("http:", "  blackhole: {delay: 3s}\nhttp:"))
    collector = common.start_collector(env.collector_bin, slow_cfg, env.work, name="collector-slow")
    common.wait_healthy(env.collector_bin, collector_port)
    total_before = int(env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'syslog-agent'"))
    agent = env.start_agent(cfg, env.http)
    harness.wait_until(lambda: env.rows("source = 'restart'") >= 500, 30, interval=0.05, what="500 rows committed")
    agent.kill9()
    received = metric(chttp, "logship_collector_records_received_total", agent="syslog-agent")
    assert received >= 500, received
    agent = env.start_agent(cfg, env.http)
    harness.wait_until(lambda: metric(chttp, "logship_collector_records_received_total", agent="syslog-agent")
                       >= received + 500, 30, what="the unacknowledged frame sent again")
    harness.wait_until(lambda: metric(env.http, "logship_agent_spool_frames") == 0, 30, what="every frame acked")
    resent = metric(chttp, "logship_collector_records_received_total", agent="syslog-agent") - received
    env.expect("source = 'restart'", 500)
    total_after = int(env.pg.scalar("SELECT count(*) FROM logs WHERE agent_id = 'syslog-agent'"))
    assert total_after == total_before + 500, f"{total_after - total_before - 500} duplicate rows"
    assert collector.terminate() == 0
    collector = common.start_collector(env.collector_bin, collector_cfg, env.work, name="collector-2")
    common.wait_healthy(env.collector_bin, collector_port)
    return agent, collector, (f"restart: 500 messages spooled with the collector away, kill -9, restart: 500 rows; "
                              f"killed again between commit and ack, {resent:.0f} records sent again: 0 duplicates")


class BlockedSender(threading.Thread):
    """Sends numbered RFC 5424 messages (random payload) over one TCP connection without pause."""

    def __init__(self, port, total):
        super().__init__(daemon=True)
        self.port, self.total, self.sent, self.error = port, total, 0, None

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                while self.sent < self.total:
                    n = min(500, self.total - self.sent)
                    s.sendall(b"".join(f"<13>1 - h pressure - - - s=p-{self.sent + i} {os.urandom(64).hex()}\n".encode()
                                       for i in range(n)))
                    self.sent += n
        except OSError as e:
            self.error = e


def check_backpressure(env):
    cport, http, tcp, udp = harness.free_port(), harness.free_port(), harness.free_port(), free_udp_port()
    listen = (f"      - {{protocol: tcp, address: \"127.0.0.1:{tcp}\"}}\n"
              f"      - {{protocol: udp, address: \"127.0.0.1:{udp}\"}}\n")
    cfg = env.agent_config("pressure-agent", cport, http, listen, "spool: {max_bytes: 256KiB, segment_bytes: 64KiB}\n")
    agent = env.start_agent(cfg, http)
    # More than the kernel's socket buffers can take (net.ipv4.tcp_rmem's maximum is 32 MiB on
    # the CI machine, autotuned up under load): ~64 MiB of messages, so the sender must block.
    total = 400_000
    sender = BlockedSender(tcp, total)
    sender.start()
    harness.wait_until(lambda: metric(http, "logship_agent_sources_paused") == 1, 30, what="spool full, sources paused")
    # Blocked: once the socket buffers are full the sender's writes stop.
    harness.wait_until(lambda: (lambda a: (time.sleep(2), sender.sent == a)[1])(sender.sent), 30,
                       interval=0, what="the sender blocked")
    blocked_at = sender.sent
    assert blocked_at < total, "the sender was never blocked"
    read = metric(http, "logship_agent_records_read_total")
    # UDP meanwhile: 200 datagrams of 30 KiB, paced (so the kernel's buffer is not the one dropping).
    udp_sent = 200
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for i in range(udp_sent):
            u.sendto(f"<13>1 - h udp-pressure - - - s=u-{i} ".encode() + b"u" * 30000, ("127.0.0.1", udp))
            time.sleep(0.002)
    time.sleep(0.5)
    dropped = metric(http, "logship_agent_syslog_dropped_total", reason="paused")
    assert dropped > 0, "UDP beyond the pause backlog was not counted as dropped"
    assert metric(http, "logship_agent_records_read_total") == read, "TCP was read while paused"
    assert sender.sent == blocked_at
    collector = common.start_collector(env.collector_bin, common.write_collector_config(env.work, cport, env.pg),
                                       env.work, name="collector-pressure")
    sender.join(120)
    assert not sender.is_alive() and sender.error is None, (sender.sent, sender.error)
    env.expect("source = 'pressure'", total, timeout=120, agent="pressure-agent")
    time.sleep(1)
    udp_rows = env.rows("source = 'udp-pressure'", agent="pressure-agent")
    received = metric(http, "logship_agent_syslog_messages_received_total", protocol="udp")
    assert udp_rows == received and received + dropped == udp_sent, (udp_rows, received, dropped, udp_sent)
    assert agent.terminate() == 0 and collector.terminate() == 0
    return (f"backpressure: sender blocked after {blocked_at} of {total} messages (256 KiB spool, no collector), "
            f"all {total} arrived once; UDP: {udp_rows:.0f} shipped + {dropped:.0f} dropped (counted) = {udp_sent}")


def logger_seconds(port, lines):
    """Seconds `logger --rfc5424 --tcp` takes to send `lines` to port (a socket that discards
    them when port is None)."""
    server = None
    if port is None:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def drain():
            c, _ = server.accept()
            buf = bytearray(1 << 20)
            while c.recv_into(buf):
                pass
            c.close()
        t = threading.Thread(target=drain)
        t.start()
    t0 = time.monotonic()
    logger("--rfc5424", "--tcp", "-n", "127.0.0.1", "-P", str(port), "-t", "bench-logger", lines=lines)
    if server is not None:
        t.join()
        server.close()
    return time.monotonic() - t0


def wait_received(env, target):
    harness.wait_until(lambda: metric(env.http, "logship_agent_syslog_messages_received_total", protocol="tcp")
                       >= target, 120, interval=0.05, what=f"{target} messages read")


def check_throughput(env):
    """The agent's read rate over TCP: from a python socket writing as fast as it can, and from
    logger, against logger writing the same lines into a socket that discards them."""
    n = 200_000
    data = b"".join(f"<14>1 2024-06-15T12:00:00.000Z host bench 1 - - s=bench-{i} GET /index.html 200 "
                    f"{'x' * 80}\n".encode() for i in range(n))
    before = metric(env.http, "logship_agent_syslog_messages_received_total", protocol="tcp")
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", env.tcp)) as s:
        s.sendall(data)
    wait_received(env, before + n)
    taken = time.monotonic() - t0
    env.expect("source = 'bench'", n, timeout=180)
    e2e = time.monotonic() - t0

    m = 100_000
    lines = [f"s=bench-logger-{i} GET /index.html 200 {'x' * 80}" for i in range(m)]
    discard = logger_seconds(None, lines)
    before = metric(env.http, "logship_agent_syslog_messages_received_total", protocol="tcp")
    t0 = time.monotonic()
    logger_seconds(env.tcp, lines)
    wait_received(env, before + m)
    to_agent = time.monotonic() - t0
    env.expect("source = 'bench-logger'", m, timeout=180)
    return (f"throughput: {n} messages ({len(data) / n:.0f} B) over one TCP connection: the agent read "
            f"{n / taken:,.0f}/s, all in PostgreSQL after {e2e:.1f} s ({n / e2e:,.0f}/s end to end); logger: "
            f"{m / to_agent:,.0f}/s into the agent vs {m / discard:,.0f}/s into a discarding socket "
            f"(ratio {discard / to_agent:.2f})")


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-syslog")
    results = []
    with harness.PostgresServer() as pg:
        env = Env(agent_bin, collector_bin, pg, work)
        port, chttp = harness.free_port(), harness.free_port()
        collector_cfg = common.write_collector_config(work, port, pg, extra=f"http: {{listen: 127.0.0.1:{chttp}}}\n")
        collector = common.start_collector(collector_bin, collector_cfg, work)
        common.wait_healthy(collector_bin, port)
        listen = (f"      - {{protocol: tcp, address: \"127.0.0.1:{env.tcp}\"}}\n"
                  f"      - {{protocol: udp, address: \"127.0.0.1:{env.udp}\"}}\n"
                  f"      - {{protocol: tcp, address: \"127.0.0.1:{env.tls}\", "
                  f"tls: {{cert_file: {env.cert}, key_file: {env.key}}}}}\n")
        cfg = env.agent_config("syslog-agent", port, env.http, listen)
        agent = env.start_agent(cfg, env.http)
        try:
            only = os.environ.get("LOGSHIP_SCENARIO")
            for check in (check_logger, check_tls, check_malformed):
                if not only or only == check.__name__:
                    results.append(check(env))
            if not only or only == "check_restart":
                agent, collector, line = check_restart(env, cfg, agent, collector, collector_cfg, port, chttp)
                results.append(line)
            if not only or only == "check_backpressure":
                results.append(check_backpressure(env))
            if not only or only == "check_throughput":
                results.append(check_throughput(env))
            assert agent.terminate() == 0
        except BaseException:
            print("--- agent log ---\n" + agent.log_tail(40), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(20), file=sys.stderr)
            raise
    for line in results:
        print(line)
    print(f"syslog: {len(results)} passed, 0 failed")


if __name__ == "__main__":
    main()
