#!/usr/bin/env python3
"""Container log files (`format: cri | docker | auto`) as the kubelet and the runtimes lay
them out: /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, linked from
/var/log/containers/<pod>_<ns>_<container>-<id>.log. The real agent under the shipped
defaults (start_at: end) and follow_symlinks, a real collector, real PostgreSQL; every
message checked exactly (body, stream, event time, Kubernetes metadata).

Scenarios: CRI with P/F pieces, identical lines and CRLF; a kubelet rotation between the P and
F pieces of one line; a kill -9 between pieces; Docker json-file with 16 KiB pieces, invalid
JSON and a partial last line; `auto` on a mix."""

import datetime
import json
import os
import sys
import time

import common
import harness

CID = "0123456789abcdef" * 4
NOW = datetime.datetime.now(datetime.timezone.utc)


def ts(i):
    """An RFC 3339 time near now (inside the collector's event time window), i ms later."""
    return (NOW + datetime.timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def ts_epoch_ns(i):
    t = NOW + datetime.timedelta(milliseconds=i)
    return (int(t.replace(microsecond=0).timestamp()) * 1_000_000 + t.microsecond) * 1000 + 123


class Pod:
    """A pod's log directory and the /var/log/containers link to its current 0.log."""

    def __init__(self, root, ns, pod, container):
        self.dir = root / "pods" / f"{ns}_{pod}_uid-{pod}" / container
        self.dir.mkdir(parents=True)
        self.file = self.dir / "0.log"
        self.file.touch()
        links = root / "containers"
        links.mkdir(exist_ok=True)
        self.link = links / f"{pod}_{ns}_{container}-{CID}.log"
        os.symlink(self.file, self.link)
        self.rotations = 0

    def write(self, text):
        with open(self.file, "ab") as f:
            f.write(text.encode() if isinstance(text, str) else text)

    def rotate(self):
        """The kubelet's rotation: rename 0.log away, start a new 0.log (the link stays)."""
        self.rotations += 1
        os.rename(self.file, self.dir / f"0.log.2026113{self.rotations}-101010")
        self.file.touch()


class Env:
    def __init__(self, agent_bin, pg, work, port):
        self.agent_bin, self.pg, self.work, self.port = agent_bin, pg, work, port

    def start_agent(self, name, fmt):
        d = self.work / name
        d.mkdir(exist_ok=True)
        cfg = d / "agent.yaml"
        cfg.write_text(
            f"agent_id: {name}\n"
            f"data_dir: {d / 'data'}\n"
            "sources:\n"
            "  - type: file\n"
            "    name: containers\n"
            f"    include: [\"{self.work / name / 'logs' / 'containers'}/*.log\"]\n"
            f"    format: {fmt}\n"
            "    follow_symlinks: true\n"
            "    poll_interval: 200ms\n"
            "    rotate_wait: 2s\n"
            "batch: {max_records: 2000, max_bytes: 1MiB, linger: 50ms}\n"
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{self.port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 500ms\n"
            "http: {listen: \"\"}\n")
        proc = harness.Proc([self.agent_bin, "--config", cfg], self.work, name=f"agent-{name}")
        time.sleep(1.0)  # the agent's first start (start_at: end) is over before the files fill
        return proc

    def logs_dir(self, name):
        p = self.work / name / "logs"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def rows(self, name):
        """(body, attributes, ts in µs) per row; as JSON, so any byte of a body survives psql."""
        out = self.pg.scalar(
            "SELECT coalesce(json_agg(json_build_array(body, attributes, "
            "(extract(epoch from ts) * 1000000)::bigint)), '[]') "
            f"FROM logs WHERE agent_id = '{name}'")
        return [tuple(r) for r in json.loads(out)]

    def wait_bodies(self, name, expected, timeout=60):
        """Waits for exactly the multiset `expected` of bodies; returns the rows."""
        want = sorted(expected)
        try:
            harness.wait_until(lambda: len(self.rows(name)) >= len(want), timeout, interval=0.2,
                               what=f"{len(want)} rows of {name}")
        except TimeoutError:
            pass
        time.sleep(0.8)
        rows = self.rows(name)
        got = sorted(r[0] for r in rows)
        if got != want:
            missing = [b for b in want if b not in got]
            extra = [b for b in got if b not in want]
            raise AssertionError(f"{name}: {len(got)} rows for {len(want)}; missing {missing[:5]}, extra {extra[:5]}")
        return rows


def attrs(row):
    return row[1]


def cri(i, stream, tag, msg):
    return f"{ts(i)} {stream} {tag} {msg}\n"


def scenario_cri(env):
    """P/F joins, identical lines, CRLF, a constant first line, Kubernetes metadata, event times."""
    name = "cri"
    root = env.logs_dir(name)
    agent = env.start_agent(name, "cri")
    pod = Pod(root, "shop", "web-7d9f", "nginx")
    expected = []
    pod.write(cri(0, "stdout", "F", "#Fields: date time method"))  # a constant header line
    expected.append("#Fields: date time method")
    for i in range(1, 201):
        pod.write(cri(i, "stdout", "F", "GET / 200"))  # identical lines: 200 rows, not 1
        expected.append("GET / 200")
    pod.write(cri(300, "stderr", "P", "a" * 16384) + cri(301, "stderr", "P", "b" * 16384) +
              cri(302, "stderr", "F", "c" * 10))
    expected.append("a" * 16384 + "b" * 16384 + "c" * 10)
    pod.write(cri(400, "stdout", "F", "windows line\r"))
    expected.append("windows line\r")
    pod.write(cri(401, "stdout", "F", ""))
    expected.append("")
    rows = env.wait_bodies(name, expected)
    by_body = {r[0]: r for r in rows}
    long_row = by_body["a" * 16384 + "b" * 16384 + "c" * 10]
    a = attrs(long_row)
    assert a.get("log.iostream") == "stderr", a
    assert a.get("k8s.namespace.name") == "shop" and a.get("k8s.pod.name") == "web-7d9f", a
    assert a.get("k8s.container.name") == "nginx" and a.get("container.id") == CID, a
    assert "logship.format_error" not in a and "logship.partial" not in json.dumps(a), a
    assert int(long_row[2]) == ts_epoch_ns(300) // 1000, (long_row[2], ts_epoch_ns(300))  # the first piece's time
    header = by_body["#Fields: date time method"]
    assert int(header[2]) == ts_epoch_ns(0) // 1000
    assert attrs(header).get("log.iostream") == "stdout"
    return agent, f"{len(expected)} messages exact (200 identical, a 3-piece 32 KiB line joined, CRLF kept)"


def scenario_rotation_mid_line(env):
    """The kubelet rotates between the P and F pieces of one line: both pieces arrive, once."""
    name = "rotation"
    root = env.logs_dir(name)
    agent = env.start_agent(name, "cri")
    pod = Pod(root, "shop", "api-1", "app")
    expected = [f"before {i}" for i in range(100)]
    pod.write("".join(cri(i, "stdout", "F", f"before {i}") for i in range(100)))
    pod.write(cri(100, "stdout", "P", "begun in the old file "))
    env.wait_bodies(name, expected)
    pod.rotate()
    pod.write(cri(101, "stdout", "F", "ended in the new file"))
    pod.write("".join(cri(200 + i, "stderr", "F", f"after {i}") for i in range(100)))
    expected += ["begun in the old file ", "ended in the new file"] + [f"after {i}" for i in range(100)]
    rows = env.wait_bodies(name, expected)
    begun = next(r for r in rows if r[0] == "begun in the old file ")
    assert attrs(begun).get("logship.partial") == "true", attrs(begun)
    return agent, f"{len(expected)} messages exact across the rotation; the cut line flagged partial"


def scenario_kill_between_pieces(env):
    """kill -9 while a line's P pieces are read but its F is not written: after the restart the
    whole line arrives once, joined, and nothing before it twice."""
    name = "crash"
    root = env.logs_dir(name)
    agent = env.start_agent(name, "cri")
    pod = Pod(root, "batch", "job-1", "worker")
    expected = [f"line {i}" for i in range(500)]
    pod.write("".join(cri(i, "stdout", "F", f"line {i}") for i in range(500)))
    pod.write(cri(500, "stdout", "P", "first half, ") + cri(501, "stdout", "P", "second half, "))
    env.wait_bodies(name, expected)
    time.sleep(0.5)  # the pieces are read (and must not have moved the checkpoint)
    agent.kill9()
    pod.write(cri(502, "stdout", "F", "end"))
    expected.append("first half, second half, end")
    agent = env.start_agent(name, "cri")
    env.wait_bodies(name, expected)
    return agent, f"{len(expected)} messages exact after a kill -9 between pieces"


def docker(log, stream="stdout", i=0):
    return json.dumps({"log": log, "stream": stream, "time": ts(i)}) + "\n"


def scenario_docker(env):
    """Docker json-file: 16 KiB pieces joined, escapes decoded, invalid JSON shipped with the
    reason, a partial last line waiting for its newline."""
    name = "docker"
    root = env.logs_dir(name)
    agent = env.start_agent(name, "docker")
    pod = Pod(root, "web", "front-1", "node")
    big = "x" * 16384 + "y" * 16384 + "z" * 7
    pod.write(docker("hello \"quoted\" \u00e9\n", "stdout", 0))
    pod.write(docker(big[:16384], "stderr", 1) + docker(big[16384:32768], "stderr", 2) +
              docker(big[32768:] + "\n", "stderr", 3))
    pod.write('{"log":"broken json\n')
    pod.write(docker("same\n", i=4) * 50)
    pod.write(docker("last\n", i=5)[:20])  # a line still being written
    expected = ["hello \"quoted\" \u00e9", big, '{"log":"broken json'] + ["same"] * 50
    rows = env.wait_bodies(name, expected)
    broken = next(r for r in rows if r[0].startswith('{"log":"broken'))
    assert "invalid JSON" in attrs(broken).get("logship.format_error", ""), attrs(broken)
    joined = next(r for r in rows if r[0] == big)
    assert attrs(joined).get("log.iostream") == "stderr"
    assert int(joined[2]) == ts_epoch_ns(1) // 1000
    pod.write(docker("last\n", i=5)[20:])
    env.wait_bodies(name, expected + ["last"])
    return agent, f"{len(expected) + 1} messages exact (a 3-piece 32 KiB line, invalid JSON kept, 50 identical)"


def scenario_auto(env):
    """`auto`: CRI and Docker lines decoded side by side; anything else shipped as it is."""
    name = "auto"
    root = env.logs_dir(name)
    agent = env.start_agent(name, "auto")
    pod = Pod(root, "mixed", "m-1", "c")
    pod.write(cri(0, "stdout", "F", "from cri") + docker("from docker\n", "stderr", 1) + "plain text\n")
    rows = env.wait_bodies(name, ["from cri", "from docker", "plain text"])
    plain = next(r for r in rows if r[0] == "plain text")
    assert attrs(plain).get("logship.format_error"), attrs(plain)
    return agent, "3 messages exact"


SCENARIOS = [scenario_cri, scenario_rotation_mid_line, scenario_kill_between_pieces, scenario_docker, scenario_auto]


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-containers")
    only = os.environ.get("LOGSHIP_SCENARIO")
    passed = 0
    with harness.PostgresServer() as pg:
        port = harness.free_port()
        collector = common.start_collector(
            collector_bin, common.write_collector_config(work, port, pg, extra="http: {listen: \"\"}\n"), work)
        common.wait_healthy(collector_bin, port)
        env = Env(agent_bin, pg, work, port)
        for fn in SCENARIOS:
            if only and fn.__name__ != only:
                continue
            t0 = time.monotonic()
            try:
                agent, note = fn(env)
            except BaseException:
                for p in harness._procs[-2:]:
                    print(f"--- {p.name} ---\n{p.log_tail(30)}", file=sys.stderr)
                print(f"--- collector ---\n{collector.log_tail(20)}", file=sys.stderr)
                print(f"FAILED: {fn.__name__}", file=sys.stderr)
                raise
            assert agent.alive(), f"{fn.__name__}: agent died"
            assert agent.terminate() == 0
            print(f"ok {fn.__name__} ({time.monotonic() - t0:.1f}s): {note}")
            passed += 1
    print(f"container logs: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
