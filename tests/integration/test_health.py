#!/usr/bin/env python3
"""`logship-collector healthcheck` exits 0 while the collector serves, non-zero otherwise."""

import subprocess

import common
import harness


def probe(collector_bin, port):
    return subprocess.run([str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}",
                           "--timeout-ms", "1000"], capture_output=True, text=True)


def main():
    _, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-health")
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        r = probe(collector_bin, port)
        assert r.returncode != 0, "healthcheck passed with no collector running"
        collector = common.start_collector(collector_bin, common.write_collector_config(work, port, pg), work)
        common.wait_healthy(collector_bin, port)
        r = probe(collector_bin, port)
        assert r.returncode == 0 and "SERVING" in r.stdout, r
        assert collector.terminate() == 0
        r = probe(collector_bin, port)
        assert r.returncode != 0, "healthcheck passed after the collector stopped"
    print("health: 3 passed, 0 failed")


if __name__ == "__main__":
    main()
