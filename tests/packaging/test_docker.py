#!/usr/bin/env python3
"""The collector's Docker image, built and run on a real (private) Docker engine.

1. dockerd starts with its data under a temp dir, host networking only (docker_daemon.py).
2. The base images packaging/Dockerfile names are `docker import`ed from a cached
   debootstrap tarball (debian_base.py): nothing is pulled.
3. `docker build -f packaging/Dockerfile` (classic builder, no BuildKit).
4. The image: non-root user, EXPOSE 4740 9740, a HEALTHCHECK, no compiler and no apt lists
   left; `--version`; `--check-config` on a mounted configuration (good: 0, bad: 2).
5. The container runs with `--network host` against a PostgreSQL started by the test,
   configured from the environment; it becomes `healthy`; an agent (from the build tree)
   ships numbered lines that all arrive in PostgreSQL exactly once; `docker stop` ends the
   collector with exit code 0.
6. The daemon stops, its files go, and the machine's network settings are as before.

Usage: test_docker.py --bin-dir BUILD_DIR
"""

import json
import pathlib
import subprocess
import sys
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = HERE.parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests/integration"))
sys.path.insert(0, str(HERE))
import common  # noqa: E402
import harness  # noqa: E402
from docker_daemon import DockerDaemon, network_state  # noqa: E402

IMAGE = "logship-collector:test"
LINES = 5000
COLLECTOR_BIN = []  # the build tree's, for gen-token
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


def check_image(d, version, work):
    config = d.inspect(IMAGE)["Config"]
    user = config.get("User", "")
    assert user and user.split(":")[0] not in ("", "0", "root"), f"image runs as root: {user!r}"
    assert {"4740/tcp", "9740/tcp"} <= set(config.get("ExposedPorts") or {}), config.get("ExposedPorts")
    health = (config.get("Healthcheck") or {}).get("Test") or []
    assert any("healthcheck" in part for part in health), f"no HEALTHCHECK: {health}"
    size = d.inspect(IMAGE)["Size"] / 2**20
    out = d.docker("run", "--rm", "--network", "none", IMAGE, "--version").stdout
    assert version in out, out
    probe = d.docker("run", "--rm", "--network", "none", "--entrypoint", "sh", IMAGE, "-c",
                     "id -u; ls -A /var/lib/apt/lists | wc -l; "
                     "for t in gcc g++ cc c++ cmake make; do command -v $t; done; true").stdout.split()
    assert probe[0] == config["User"].split(":")[0] and probe[1] == "0" and len(probe) == 2, \
        f"uid, apt lists, compilers: {probe}"
    ok(f"image {IMAGE}: {size:.0f} MiB, user {user}, EXPOSE 4740 9740, HEALTHCHECK {health[-1][:60]}..., "
       "no compiler or apt lists")

    good = work / "good.yaml"
    good.write_text('listen: 127.0.0.1:4740\nsinks:\n  postgres:\n    dsn: "host=127.0.0.1 dbname=logs"\n')
    # The image's own configuration: secure by default (a fleet token, from a file it names).
    r = d.docker("run", "--rm", "--network", "none", IMAGE, "--check-config", check=False)
    assert r.returncode == 0, f"the image's own configuration: exit {r.returncode}\n{r.stderr}"
    r = d.docker("run", "--rm", "--network", "none", IMAGE, check=False)
    assert r.returncode == 1 and "logship-fleet-token" in r.stderr, \
        f"without a token file the collector must refuse to run: exit {r.returncode}\n{r.stderr}"
    bad_open = work / "open.yaml"
    bad_open.write_text('listen: 0.0.0.0:4740\nsinks:\n  postgres:\n    dsn: "host=127.0.0.1 dbname=logs"\n')
    bad_open.chmod(0o644)
    r = d.docker("run", "--rm", "--network", "none", "-v", f"{bad_open}:/etc/logship/collector.yaml:ro",
                 IMAGE, check=False)
    assert r.returncode == 2 and "without authentication" in r.stderr, (r.returncode, r.stderr)
    bad = work / "bad.yaml"
    bad.write_text('listen: 127.0.0.1:4740\nsinkz: {}\n')
    for path, want in ((good, 0), (bad, 2)):
        path.chmod(0o644)
        r = d.docker("run", "--rm", "--network", "none", "-v", f"{path}:/etc/logship/collector.yaml:ro",
                     IMAGE, "--check-config", "--config", "/etc/logship/collector.yaml", check=False)
        assert r.returncode == want, f"--check-config {path.name}: exit {r.returncode}, want {want}\n{r.stderr}"
    ok("--check-config on a mounted /etc/logship/collector.yaml: 0 when valid, 2 when not; the image's own "
       "configuration wants a token (exit 1 without one), and an open listener is refused (exit 2)")


def run_collector(d, agent_bin, work):
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        name = "logship-collector-test"
        token = work / "fleet.token"
        subprocess.run([str(COLLECTOR_BIN[0]), "gen-token", "--out", str(token)], check=True, capture_output=True)
        token.chmod(0o644)  # the container's user must read it
        t0 = time.monotonic()
        d.docker("run", "-d", "--name", name, "--network", "host",
                 "-v", f"{token}:/run/secrets/logship-fleet-token:ro",
                 "-e", f"LOGSHIP_LISTEN=127.0.0.1:{port}",
                 "-e", f"LOGSHIP_POSTGRES_DSN={pg.dsn}",
                 "-e", f"LOGSHIP_HEALTH_ADDRESS=127.0.0.1:{port}",
                 "--health-interval", "1s", "--health-start-period", "60s", IMAGE)
        agent = None
        try:
            def health():
                state = d.inspect(name)["State"]
                if not state["Running"]:
                    raise AssertionError(f"collector container exited ({state['ExitCode']}):\n"
                                         + d.docker("logs", name).stderr)
                return state.get("Health", {}).get("Status") == "healthy"
            harness.wait_until(health, 90, interval=0.5, what="container healthy")
            ok(f"container healthy after {time.monotonic() - t0:.1f} s (--network host, "
               "configured from the environment)")

            logs = work / "logs"
            logs.mkdir()
            agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"), agent_id="docker-test",
                                                  extra=f"  token_file: {token}\n")
            agent = harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent")
            writer = common.LineWriter(logs / "app.log")
            writer.write(LINES)
            common.assert_exact(pg, LINES, 90, "docker collector")
            hosts = pg.query("SELECT DISTINCT agent_id FROM logs")
            assert hosts == [("docker-test",)], hosts
            ok(f"{LINES} lines from an agent arrived in PostgreSQL through the container, once each")

            # HTTP (EXPOSE 9740): the image's configuration leaves http.listen at its default.
            try:
                with urllib.request.urlopen("http://127.0.0.1:9740/metrics", timeout=3) as r:
                    metrics = r.read().decode("utf-8", "replace")
            except OSError as e:
                metrics = None
                print(f"note: no /metrics on 127.0.0.1:9740 ({e}); HTTP metrics not built yet?")
            if metrics is not None:
                if 'agent="docker-test"' in metrics:
                    ok("the container serves /metrics on :9740 (records from agent docker-test counted)")
                else:
                    print("note: 127.0.0.1:9740 is served by another process; /metrics not checked")

            assert agent.terminate() == 0, "agent did not exit cleanly"
            d.docker("stop", "-t", "30", name)
            state = d.inspect(name)["State"]
            assert state["ExitCode"] == 0, f"collector exited {state['ExitCode']} on docker stop"
            ok("docker stop: the collector drained and exited 0")
        except BaseException:
            print("--- collector container log ---\n" + d.docker("logs", "--tail", "40", name,
                                                               check=False).stderr, file=sys.stderr)
            if agent:
                print("--- agent log ---\n" + agent.log_tail(40), file=sys.stderr)
            health = d.inspect(name).get("State", {}).get("Health")
            print("--- health ---\n" + json.dumps(health, indent=1)[-2000:], file=sys.stderr)
            raise


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    COLLECTOR_BIN.append(collector_bin)
    version = subprocess.run([str(collector_bin), "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()   # the image must say the same
    work = harness.make_workdir("logship-docker")
    t_start = time.monotonic()
    before = network_state()
    d = DockerDaemon()
    try:
        d.start()
        ok(f"dockerd {d.version} up in {time.monotonic() - t_start:.1f} s "
           "(data under a temp dir, --bridge=none --iptables=false)")

        t0 = time.monotonic()
        names = d.import_base_images(SOURCE_DIR / "packaging/Dockerfile")
        ok(f"base images {', '.join(names)} imported from the debootstrap tarball "
           f"in {time.monotonic() - t0:.0f} s")
        d.check_exec(names[0])
        ok("docker exec starts inside a container (what the HEALTHCHECK needs)")

        t0 = time.monotonic()
        build_log = work / "docker-build.log"
        d.docker("build", "--network", "host", "--build-arg", "JOBS=2", "-f",
                 SOURCE_DIR / "packaging/Dockerfile", "-t", IMAGE, SOURCE_DIR, log=build_log)
        ok(f"docker build -f packaging/Dockerfile in {time.monotonic() - t0:.0f} s")

        check_image(d, version, work)
        run_collector(d, agent_bin, work)
    finally:
        d.stop()
    after = network_state()
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, "network settings changed: " + "; ".join(
        f"{k}: {before[k]!r} -> {after[k]!r}" for k in changed)
    ok("dockerd stopped and removed; network settings unchanged")
    print(f"docker: {passed} passed, 0 failed ({time.monotonic() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
