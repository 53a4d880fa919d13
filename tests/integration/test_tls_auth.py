#!/usr/bin/env python3
"""TLS, mTLS and bearer tokens between real agents and a real collector.

Certificates come from openssl at test time. The collector requires a client certificate
(mTLS) and per-agent tokens. Right CA + client cert + right token ships; a wrong CA, a
missing client certificate, a wrong token, and an agent id that is not the token's agent
are all refused, and nothing of theirs is stored.
"""

import subprocess
import sys
import time

import common
import harness


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "wrong-ca"):
        openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                "-subj", f"/CN=logship {ca}", cwd=d)
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def agent_config(work, name, agent_id, port, pki, ca="ca.crt", client_cert=True, token="good.token"):
    d = work / name
    (d / "logs").mkdir(parents=True)
    tls = f"  tls: {{ca_file: {pki / ca}, server_name: localhost"
    if client_cert:
        tls += f", cert_file: {pki / 'client.crt'}, key_file: {pki / 'client.key'}"
    tls += "}\n"
    cfg = d / "agent.yaml"
    cfg.write_text(
        f"agent_id: {agent_id}\n"
        f"data_dir: {d / 'data'}\n"
        "sources:\n"
        "  - type: file\n"
        f"    include: [\"{d / 'logs'}/*.log\"]\n"
        "    start_at: beginning\n"
        "batch: {linger: 50ms}\n"
        "collector:\n"
        f"  endpoints: [\"127.0.0.1:{port}\"]\n"
        f"  token_file: {pki / token}\n"
        "  backoff_min: 100ms\n"
        "  backoff_max: 500ms\n" + tls +
        "http: {listen: \"\"}\n")
    common.LineWriter(d / "logs" / "app.log").write(100)
    return cfg


def rows_from(pg, name):
    return int(pg.scalar(f"SELECT count(*) FROM logs WHERE source LIKE '%/{name}/logs/%'"))


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-tls")
    pki = work / "pki"
    pki.mkdir()
    make_pki(pki)
    (pki / "good.token").write_text("good-agent-token-0123456789abcdef\n")
    (pki / "other.token").write_text("other-agent-token-0123456789abcdef\n")
    (pki / "bogus.token").write_text("bogus-token-that-nobody-configured\n")
    passed = 0
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        cfg = common.write_collector_config(
            work, port, pg,
            extra=(f"tls: {{cert_file: {pki / 'server.crt'}, key_file: {pki / 'server.key'}, "
                   f"client_ca_file: {pki / 'ca.crt'}}}\n"
                   "auth:\n  tokens:\n"
                   f"    - {{agent: good, token_file: {pki / 'good.token'}}}\n"
                   f"    - {{agent: other, token_file: {pki / 'other.token'}}}\n"
                   "http: {listen: \"\"}\n"))
        collector = common.start_collector(collector_bin, cfg, work)
        health = [str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}", "--timeout-ms", "2000",
                  "--ca-file", str(pki / "ca.crt"), "--cert-file", str(pki / "client.crt"),
                  "--key-file", str(pki / "client.key"), "--server-name", "localhost"]
        harness.wait_until(lambda: subprocess.run(health, capture_output=True).returncode == 0, 30,
                           interval=0.2, what="TLS healthcheck SERVING")
        plain = subprocess.run([str(collector_bin), "healthcheck", "--address", f"127.0.0.1:{port}",
                                "--timeout-ms", "2000"], capture_output=True)
        assert plain.returncode != 0, "a plaintext probe passed against a TLS-only collector"
        passed += 1

        cases = {
            "good": agent_config(work, "good", "good", port, pki),
            "wrong-ca": agent_config(work, "wrong-ca", "good", port, pki, ca="wrong-ca.crt"),
            "no-client-cert": agent_config(work, "no-client-cert", "good", port, pki, client_cert=False),
            "wrong-token": agent_config(work, "wrong-token", "good", port, pki, token="bogus.token"),
            "foreign-id": agent_config(work, "foreign-id", "mallory", port, pki, token="good.token"),
        }
        agents = {name: harness.Proc([agent_bin, "--config", c], work, name=f"agent-{name}")
                  for name, c in cases.items()}
        try:
            harness.wait_until(lambda: rows_from(pg, "good") == 100, 60, what="the good agent's 100 rows")
            passed += 1
            time.sleep(3)  # give the refused ones every chance to (wrongly) get through
            expected_log = {
                "wrong-ca": "stream to",
                "no-client-cert": "stream to",
                "wrong-token": "refused this agent: refused: an unknown bearer token",
                "foreign-id": "the token belongs to agent \"good\" but the frame claims \"mallory\"",
            }
            for name, needle in expected_log.items():
                assert rows_from(pg, name) == 0, f"{name}: rows were stored"
                assert agents[name].alive(), f"{name}: the agent died instead of retrying"
                log = agents[name].log_tail(200)
                assert needle in log, f"{name}: expected {needle!r} in the agent log:\n{log}"
                assert "0123456789abcdef" not in log, f"{name}: a token leaked into the agent log"
                passed += 1
            clog = collector.log_tail(400)
            assert "0123456789abcdef" not in clog and "nobody-configured" not in clog, "a token leaked into the collector log"
            assert "refused a call with an unknown bearer token" in clog, clog
            passed += 1
        except BaseException:
            for name, a in agents.items():
                print(f"--- agent {name} ---\n" + a.log_tail(15), file=sys.stderr)
            print("--- collector ---\n" + collector.log_tail(30), file=sys.stderr)
            raise
    print(f"tls-auth: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
