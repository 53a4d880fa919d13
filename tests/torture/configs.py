"""The agent's and the collector's configuration files of a seed's run (part of Run)."""

import os


def fmt_size(n):
    for unit, k in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= k and n % k == 0:
            return f"{n // k}{unit}"
    return f"{n}B"


def write_atomically(path, text):
    """A reload reads the whole old file or the whole new one, never a truncated one (the
    agent read an empty agent.yaml while the next step rewrote it: "reload failed")."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class ConfigFiles:
    """Writes agent.yaml and collector.yaml from the seed's configuration (a mixin of Run)."""

    def agent_yaml(self):
        c = self.cfg
        lines = [f"agent_id: torture-{self.seed}" + (f"-id{self.agent_gen}" if self.agent_gen else ""),
                 f"data_dir: {self.data_dir}", "sources:"]
        for name, active in (("main", True), ("second", self.second_active)):
            if not active:
                continue
            s = c["sources"][name]
            d = "logs" if name == "main" else "logs2"
            lines += ["  - type: file", f"    name: {name}", f"    include: [\"{self.work / d}/*.log\"]"]
            if self.args.start_at == "beginning":
                lines.append("    start_at: beginning")
            elif c["start_at_explicit"]:
                lines.append("    start_at: end")
            if s["max_line_bytes"]:
                lines.append(f"    max_line_bytes: {fmt_size(s['max_line_bytes'])}")
            lines += [f"    poll_interval: {s['poll_ms']}ms", f"    rotate_wait: {s['rotate_wait_ms']}ms"]
            if s["multiline"]:
                ml = s["multiline"]
                lines.append(f"    multiline: {{start_pattern: '{ml['start_pattern']}', max_lines: {ml['max_lines']}, "
                             f"max_bytes: {fmt_size(ml['max_bytes'])}, timeout: {ml['timeout_ms']}ms}}")
            lines.append(f"    attributes: {{torture: \"{name}\"}}")
        lines += [
            f"batch: {{max_records: {c['max_records']}, max_bytes: {fmt_size(c['batch_max_bytes'])}, "
            f"linger: {c['linger_ms']}ms}}",
            f"compression: {{level: {c['compression']}}}",
            f"spool: {{max_bytes: {fmt_size(c['spool_max_bytes'])}, fsync: {c['fsync']}}}",
            "collector:",
            f"  endpoints: [\"127.0.0.1:{self.collector_port}\"]",
            f"  max_in_flight: {c['max_in_flight']}",
            "  backoff_min: 20ms",
            "  backoff_max: 500ms",
            f"http: {{listen: \"127.0.0.1:{self.agent_http}\"}}",
        ]
        path = self.work / "agent.yaml"
        write_atomically(path, "\n".join(lines) + "\n")
        return path

    def collector_yaml(self, small):
        text = (f"listen: 127.0.0.1:{self.collector_port}\n"
                "http: {listen: \"\"}\n" +
                ("limits: {max_frame_bytes: 64KiB}\n" if small else "") +
                "sinks:\n  postgres:\n"
                f"    dsn: \"host=127.0.0.1 port={self.pg.port} dbname={self.db} user=logship\"\n"
                "    table: logs\n")
        if self.args.search_node:  # required too: a batch is acked once both stored it
            text += ("  elasticsearch:\n"
                     f"    urls: [\"{self.args.search_node.url}\"]\n"
                     f"    index: \"{self.es_index}-%Y.%m.%d\"\n"
                     f"    template_name: {self.es_index}\n"
                     f"    policy_name: {self.es_index}\n"
                     "    retry_min: 20ms\n"
                     "    retry_max: 500ms\n")
        path = self.work / ("collector-small.yaml" if small else "collector.yaml")
        write_atomically(path, text)
        return path
