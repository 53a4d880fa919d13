"""The catalogue's environment: one PostgreSQL, one collector, an agent per case."""

import subprocess

import common
import harness
import test_collector
import test_file_source


class Env(test_file_source.Env):
    """One PostgreSQL, one collector; agents per case (rows/wait_rows/exact_numbers by agent_id)."""

    def __init__(self, agent_bin, collector_bin, pg, work):
        self.port, self.http = harness.free_port(), harness.free_port()
        super().__init__(agent_bin, collector_bin, pg, work, self.port)
        self.mounts = []
        self._auth = None
        cfg = work / "collector.yaml"
        cfg.write_text(test_collector.collector_yaml(self.port, pg, self.http))
        self.collector = common.start_collector(collector_bin, cfg, work)
        common.wait_healthy(collector_bin, self.port)

    def files_source(self, d):
        return f"    include: [\"{d}/*.log\"]\n    start_at: beginning\n    poll_interval: 250ms\n"

    def start_agent(self, name, source_yaml, extra="", port=None, data_dir=None, wrap=(), env=None,
                    batch="{max_records: 2000, max_bytes: 1MiB, linger: 50ms}", spool=None, collector_extra=False):
        d = self.work / name
        d.mkdir(exist_ok=True)
        http_port = harness.free_port()
        cfg = d / "agent.yaml"
        cfg.write_text(
            f"agent_id: {name}\n"
            f"data_dir: {data_dir or d / 'data'}\n"
            "sources:\n"
            "  - type: file\n"
            "    name: files\n" + source_yaml +
            f"batch: {batch}\n" + (f"spool: {spool}\n" if spool else "") +
            "collector:\n"
            f"  endpoints: [\"127.0.0.1:{port or self.port}\"]\n"
            "  backoff_min: 50ms\n"
            "  backoff_max: 500ms\n" + (extra if collector_extra else "") +
            f"http: {{listen: 127.0.0.1:{http_port}}}\n" + ("" if collector_extra else extra))
        proc = harness.Proc([*wrap, self.agent_bin, "--config", cfg], self.work, name=f"agent-{name}", env=env)
        proc.http_port = http_port
        proc.cfg = cfg
        return proc

    def extra_collector(self, port):
        cfg = self.work / f"collector-{port}.yaml"
        cfg.write_text(common.write_collector_config(self.work, port, self.pg, extra="http: {listen: \"\"}\n").read_text())
        proc = common.start_collector(self.collector_bin, cfg, self.work, name=f"collector-{port}")
        common.wait_healthy(self.collector_bin, port)
        return proc

    def auth_collector(self):
        if self._auth is None:
            port, http = harness.free_port(), harness.free_port()
            token = self.work / "good.token"
            token.write_text("good-agent-token-0123456789\n")
            cfg = self.work / "collector-auth.yaml"
            cfg.write_text(test_collector.collector_yaml(
                port, self.pg, http, extra=f"auth:\n  tokens:\n    - {{agent: good, token_file: {token}}}\n"))
            self._auth = (common.start_collector(self.collector_bin, cfg, self.work, name="collector-auth"), port, http)
            common.wait_healthy(self.collector_bin, port)
        return self._auth[1], self._auth[2]

    def cleanup(self):
        harness.cleanup_all()
        for m in self.mounts:
            subprocess.run(["umount", "-l", str(m)], check=False)
