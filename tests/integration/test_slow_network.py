#!/usr/bin/env python3
"""An agent reaching its collector over a slow path: a TCP relay that holds every new
connection for 1.5 s before passing anything on (a long round trip, a loaded collector's
TLS handshake, a congested link), with the agent's backoff capped at 1 s.

The agent must still connect and deliver. Before the fix it never did: it handed its
backoff_min (50 ms here, 200 ms by default) to gRPC as GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
which gRPC uses as the minimum connect timeout, so every attempt was abandoned after at most
max(100 ms, backoff) and a handshake slower than backoff_max never completed.
"""

import socket
import threading
import time

import common
import harness

HOLD_SECONDS = 1.5
LINES = 200


class SlowRelay(threading.Thread):
    """Accepts on a free port; each connection waits HOLD_SECONDS, then is relayed to target."""

    def __init__(self, target_port):
        super().__init__(daemon=True)
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0

    def run(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        time.sleep(HOLD_SECONDS)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-slow-network")
    port, chttp = harness.free_port(), harness.free_port()
    cfg = work / "collector.yaml"
    cfg.write_text(f"listen: 127.0.0.1:{port}\ndata_dir: {work / 'cdata'}\nsinks: {{blackhole: {{}}}}\n"
                   f"http: {{listen: 127.0.0.1:{chttp}}}\n")
    collector = common.start_collector(collector_bin, cfg, work)
    common.wait_healthy(collector_bin, port)
    relay = SlowRelay(port)
    relay.start()
    (work / "logs").mkdir()
    common.LineWriter(work / "logs" / "app.log").write(LINES)
    acfg = common.write_agent_config(work, relay.port, str(work / "logs" / "*.log"),
                                     extra="http: {listen: \"\"}\n")
    agent = harness.Proc([agent_bin, "--config", acfg], work, name="agent")
    received = lambda: common.scrape_metric(chttp, 'logship_collector_sink_records_total{sink="blackhole"}') or 0
    try:
        harness.wait_until(lambda: received() >= LINES, 30, interval=0.25,
                           what=f"{LINES} lines through a relay that holds each connection {HOLD_SECONDS} s")
    except TimeoutError:
        raise AssertionError(f"{received():.0f} of {LINES} lines after 30 s; {relay.accepted} connections "
                             f"tried; agent log:\n{agent.log_tail(15)}")
    print(f"slow network: {LINES} lines delivered through a {HOLD_SECONDS} s connection hold "
          f"({relay.accepted} connection(s) opened)")
    agent.terminate()
    collector.terminate()


if __name__ == "__main__":
    main()
