#!/usr/bin/env python3
"""Command-line contract: --version, --check-config, exit codes, file:line:col errors."""

import re
import subprocess

import harness


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=30)


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    work = harness.make_workdir("logship-cli")
    checks = 0

    for binary, name in ((agent_bin, "logship-agent"), (collector_bin, "logship-collector")):
        r = run(binary, "--version")
        assert r.returncode == 0 and r.stdout.startswith(name + " "), r
        r = run(binary, "--no-such-flag")
        assert r.returncode == 2, f"{name}: unknown flag should exit 2, got {r.returncode}"
        r = run(binary, "--check-config", "--config", work / "missing.yaml")
        assert r.returncode == 2 and "missing.yaml:1:1" in r.stderr, r
        checks += 3

    good_agent = work / "agent.yaml"
    good_agent.write_text(
        "agent_id: web-01\n"
        f"data_dir: {work}/data\n"
        "sources:\n"
        "  - type: file\n"
        "    include: [\"/var/log/app/*.log\"]\n"
        "collector:\n"
        "  endpoints: [\"127.0.0.1:4740\"]\n")
    r = run(agent_bin, "--check-config", "--config", good_agent)
    assert r.returncode == 0, r
    checks += 1

    bad_agent = work / "bad-agent.yaml"
    bad_agent.write_text(good_agent.read_text().replace("    include:", "    inclde:"))
    r = run(agent_bin, "--check-config", "--config", bad_agent)
    assert r.returncode == 2, r
    assert re.search(r"bad-agent\.yaml:5:5: .*unknown key \"inclde\"", r.stderr), r.stderr
    checks += 1

    bad_yaml = work / "broken.yaml"
    bad_yaml.write_text("listen: [127.0.0.1:4740\nsinks: {}\n")
    r = run(collector_bin, "--check-config", "--config", bad_yaml)
    assert r.returncode == 2 and re.search(r"broken\.yaml:\d+:\d+: ", r.stderr), r
    checks += 1

    bad_size = work / "bad-size.yaml"
    bad_size.write_text("listen: 127.0.0.1:4740\nlimits: {max_frame_bytes: 12 parsecs}\nsinks: {blackhole: {}}\n")
    r = run(collector_bin, "--check-config", "--config", bad_size)
    assert r.returncode == 2 and "bad-size.yaml:2:" in r.stderr and "size" in r.stderr, r
    checks += 1

    # The shipped example configurations are valid.
    repo = harness.pathlib.Path(__file__).resolve().parents[2]
    r = run(agent_bin, "--check-config", "--config", repo / "conf" / "agent.yaml")
    assert r.returncode == 0, r
    r = run(collector_bin, "--check-config", "--config", repo / "conf" / "collector.yaml")
    assert r.returncode == 0, r
    checks += 2

    print(f"cli: {checks} passed, 0 failed")


if __name__ == "__main__":
    main()
