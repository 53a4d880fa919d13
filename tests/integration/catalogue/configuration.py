"""Catalogue: configuration files. --check-config, exit 2 and file:line:col: message on stderr."""

import re
import subprocess

from catalogue.registry import case


AGENT_OK = ("agent_id: cat\n"
            "data_dir: {work}/cfg-data\n"
            "sources:\n"
            "  - type: file\n"
            "    include: [\"/var/log/app/*.log\"]\n"
            "collector:\n"
            "  endpoints: [\"127.0.0.1:4740\"]\n"
            "  max_in_flight: 4\n")
COLLECTOR_OK = "listen: 127.0.0.1:4740\nsinks:\n  postgres:\n    dsn: \"host=127.0.0.1\"\n    table: logs\n"


def check_config(env, binary, text, name, expect_rc, *needles):
    path = env.work / "configs" / name
    path.parent.mkdir(exist_ok=True)
    if text is None:
        path.mkdir(exist_ok=True)
    else:
        path.write_text(text.replace("{work}", str(env.work)))
    r = subprocess.run([str(binary), "--check-config", "--config", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == expect_rc, f"{name}: exit {r.returncode}, expected {expect_rc}: {r.stderr}"
    for n in needles:
        n = n.replace("{path}", str(path))
        assert re.search(n, r.stderr), f"{name}: {n!r} not in stderr: {r.stderr!r}"
    return r.stderr.strip().splitlines()[-1]


@case("empty config", "a zero-byte configuration file",
      "exit 2: `FILE:1:1: configuration is empty: write the settings as YAML (see the commented examples ...)`")
def empty_config(env):
    for b, n in ((env.agent_bin, "empty-a.yaml"), (env.collector_bin, "empty-c.yaml")):
        msg = check_config(env, b, "", n, 2, r"{path}:1:1: configuration is empty: write the settings as YAML")
    return msg


@case("whitespace-only config", "a file of blanks, tabs and newlines",
      "exit 2, the same message as an empty file")
def whitespace_config(env):
    for b, n in ((env.agent_bin, "ws-a.yaml"), (env.collector_bin, "ws-c.yaml")):
        msg = check_config(env, b, "  \n\t\n   \n", n, 2, r"{path}:1:1: configuration is empty")
    return msg


@case("unknown key", "a misspelt key (`max_in_fligt`, `tabel`)",
      "exit 2 at the key's line:col, naming the closest known key: `unknown key \"max_in_fligt\" (did you mean \"max_in_flight\"?)`")
def unknown_key(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight", "max_in_fligt"), "unknown-a.yaml", 2,
                 r'{path}:8:3: collector: unknown key "max_in_fligt" \(did you mean "max_in_flight"\?\)')
    return check_config(env, env.collector_bin, COLLECTOR_OK.replace("table:", "tabel:"), "unknown-c.yaml", 2,
                        r'{path}:5:5: sinks.postgres: unknown key "tabel" \(did you mean "table"\?\)')


@case("wrong type", "a word where a number is expected; a list where a single value is",
      "exit 2 at the value: `collector.max_in_flight: expected a whole number, got \"lots\"`")
def wrong_type(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight: 4", "max_in_flight: lots"), "type-a.yaml", 2,
                 r'{path}:8:18: collector.max_in_flight: expected a whole number, got "lots"')
    return check_config(env, env.collector_bin, COLLECTOR_OK.replace("listen: 127.0.0.1:4740", "listen: [a, b]"),
                        "type-c.yaml", 2, r"{path}:1:9: listen: expected a single value")


@case("negative size", "`spool: {max_bytes: -1MiB}`, `max_in_flight: -3`",
      "exit 2: `spool.max_bytes: expected a size such as 512KiB, 16MiB or 1GiB, got \"-1MiB\"`; `must be between 1 and 1024`")
def negative_size(env):
    check_config(env, env.agent_bin, AGENT_OK.replace("max_in_flight: 4", "max_in_flight: -3"), "neg-a.yaml", 2,
                 r"{path}:8:18: collector.max_in_flight: must be between 1 and 1024, got -3")
    return check_config(env, env.agent_bin, AGENT_OK + "spool: {max_bytes: -1MiB}\n", "neg-b.yaml", 2,
                        r'{path}:9:20: spool.max_bytes: expected a size such as 512KiB, 16MiB or 1GiB, got "-1MiB"')


@case("absurd size", "`batch: {max_bytes: 100GiB}`, `limits: {max_frame_bytes: 1TiB}`, `999999PiB`",
      "exit 2 with the allowed range: `batch.max_bytes: must be between 1024 and 33554432 bytes, got 100GiB`")
def absurd_size(env):
    check_config(env, env.collector_bin, COLLECTOR_OK + "limits: {max_frame_bytes: 1TiB}\n", "absurd-c.yaml", 2,
                 r"{path}:6:27: limits.max_frame_bytes: must be between 1024 and 1073741824 bytes, got 1TiB")
    check_config(env, env.agent_bin, AGENT_OK + "spool: {max_bytes: 999999PiB}\n", "absurd-b.yaml", 2,
                 r'{path}:9:20: spool.max_bytes: expected a size')
    return check_config(env, env.agent_bin, AGENT_OK + "batch: {max_bytes: 100GiB}\n", "absurd-a.yaml", 2,
                        r"{path}:9:20: batch.max_bytes: must be between 1024 and 33554432 bytes, got 100GiB")


@case("directory as the config file", "`--config /etc/logship` (a directory)",
      "exit 2: `DIR:1:1: is a directory; --config needs the YAML file itself`")
def config_directory(env):
    check_config(env, env.collector_bin, None, "confdir", 2, r"{path}:1:1: is a directory; --config needs the YAML file")
    return check_config(env, env.agent_bin, None, "confdir", 2, r"{path}:1:1: is a directory; --config needs the YAML file")


@case("directory as the token file", "`collector.token_file` names a directory",
      "the agent exits 1 at start: `cannot read collector.token_file DIR: read DIR: Is a directory`")
def token_directory(env):
    d = env.work / "token-dir"
    d.mkdir()
    agent = env.start_agent("token-dir", env.files_source(env.work / "token-dir-logs"),
                            extra=f"  token_file: {d}\n", collector_extra=True)
    rc = agent.popen.wait(15)
    assert rc == 1, f"exit {rc}"
    assert f"cannot read collector.token_file {d}: read {d}: Is a directory" in agent.log_tail(20), agent.log_tail(20)
    return f"exit 1: cannot read collector.token_file {d.name}: ... Is a directory"
