#!/usr/bin/env python3
"""A real Prometheus scrapes a running collector and agent and evaluates packaging's alerts.

1. PostgreSQL, a collector and an agent (build tree) run; numbered lines are shipped.
2. Prometheus (Debian's package) scrapes the collector's and the agent's /metrics every
   second as jobs `logship-collector` and `logship-agent`, with packaging/prometheus/alerts.yml.
3. Both targets are up; every metric of the design's table is scraped; the counters agree
   with what was shipped; every alert rule evaluates without error and none is active.
4. The agent stops: LogshipAgentDown becomes pending for its instance.

Exits 77 (ctest: skipped) with a message when the collector does not serve /metrics yet.
Usage: test_prometheus.py --bin-dir BUILD_DIR
"""

import json
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = HERE.parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests/integration"))
sys.path.insert(0, str(HERE))
import common  # noqa: E402
import harness  # noqa: E402
import test_packaging_files  # noqa: E402

SKIP = 77
LINES = 2000
PROMETHEUS = "/usr/bin/prometheus"
passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError):
        return None, ""


def accepts_http_key(binary, config_text, work):
    """Whether this build's config parser knows `http: {listen: ...}`."""
    path = work / "probe.yaml"
    path.write_text(config_text + "http: {listen: 127.0.0.1:1}\n")
    return subprocess.run([str(binary), "--check-config", "--config", str(path)],
                          capture_output=True).returncode == 0


def http_config(binary, config_path, work, default):
    """(extra config text, host:port of the HTTP listener) for a binary's config."""
    if accepts_http_key(binary, config_path.read_text(), work):
        address = f"127.0.0.1:{harness.free_port()}"
        return f"http: {{listen: {address}}}\n", address
    return "", default


class Prometheus:
    def __init__(self, work, targets):
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = work / "prometheus"
        conf.mkdir()
        shutil.copy(SOURCE_DIR / "packaging/prometheus/alerts.yml", conf / "alerts.yml")
        jobs = "".join(f"  - job_name: {job}\n    static_configs:\n      - targets: [\"{addr}\"]\n"
                       for job, addr in targets.items())
        (conf / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}\n"
            "rule_files: [alerts.yml]\nscrape_configs:\n" + jobs)
        self.proc = harness.Proc([PROMETHEUS, f"--config.file={conf / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={work / 'tsdb'}",
                                  f"--web.listen-address=127.0.0.1:{self.port}",
                                  "--log.level=warn"], work, name="prometheus")
        harness.wait_until(lambda: http_get(self.url + "/-/ready")[0] == 200, 60,
                           interval=0.3, what="prometheus ready")

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
        status, body = http_get(url, timeout=10)
        assert status == 200, f"GET {url}: {status} {body[:300]}"
        return json.loads(body)["data"]

    def query(self, expr):
        """{frozenset(labels.items()): float} of an instant query."""
        return {frozenset(r["metric"].items()): float(r["value"][1])
                for r in self.api("query", query=expr)["result"]}


def start_collector_with_metrics(collector_bin, work, pg):
    """The collector with an HTTP listener; (process, its gRPC port, host:port of /metrics).
    Exits 77 when it does not serve /metrics."""
    port = harness.free_port()
    collector_cfg = common.write_collector_config(work, port, pg)
    extra, collector_http = http_config(collector_bin, collector_cfg, work, "127.0.0.1:9740")
    if extra:
        collector_cfg = common.write_collector_config(work, port, pg, extra)
    collector = common.start_collector(collector_bin, collector_cfg, work)
    common.wait_healthy(collector_bin, port)
    metrics_url = f"http://{collector_http}/metrics"
    deadline = time.monotonic() + 5
    while http_get(metrics_url)[0] != 200:
        if time.monotonic() > deadline:
            collector.terminate()
            print(f"SKIPPED: the collector does not serve {metrics_url} (HTTP /metrics is not "
                  "built yet); nothing for Prometheus to scrape", flush=True)
            print("prometheus: 0 passed, 0 failed, 1 skipped")
            sys.exit(SKIP)
        time.sleep(0.2)
    ok(f"collector serves {metrics_url}")
    return collector, port, collector_http


def start_agent_with_metrics(agent_bin, work, port, logs):
    """The agent with an HTTP listener; (process, host:port of /metrics)."""
    agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"))
    extra, agent_http = http_config(agent_bin, agent_cfg, work, "127.0.0.1:9741")
    if extra:
        agent_cfg = common.write_agent_config(work, port, str(logs / "*.log"), extra)
    return harness.Proc([agent_bin, "--config", agent_cfg], work, name="agent"), agent_http


def check_targets_up(prom, collector_http, agent_http):
    def both_up():
        up = prom.query("up")
        return len(up) == 2 and all(v == 1 for v in up.values())
    harness.wait_until(both_up, 30, interval=0.5, what="both targets up")
    ok(f"Prometheus scrapes logship-collector ({collector_http}) and logship-agent ({agent_http})")


def check_contract_scraped(prom):
    contract, _ = test_packaging_files.contract_metrics()

    def all_scraped():
        names = set(prom.api("label/__name__/values"))
        names |= {n[:-len("_bucket")] for n in names if n.endswith("_bucket")}
        return not (contract - names) and names
    try:
        harness.wait_until(all_scraped, 15, interval=0.5, what="contract metrics")
    except TimeoutError:
        names = set(prom.api("label/__name__/values"))
        raise AssertionError("not scraped: " + ", ".join(
            sorted(m for m in contract if m not in names and m + "_bucket" not in names)))
    ok(f"all {len(contract)} metrics of the design's table are scraped")


def check_counters(prom):
    def counts():
        got = {e: sum(prom.query(e).values()) for e in (
            'logship_collector_records_received_total{agent="test-agent"}',
            'logship_collector_sink_records_total{sink="postgres"}',
            "logship_agent_records_read_total")}
        return got if all(v >= LINES for v in got.values()) else None
    got = harness.wait_until(counts, 15, interval=0.5, what=f"counters at {LINES}")
    ok("counters agree with the lines shipped: " + ", ".join(f"{k} = {v:.0f}" for k, v in got.items()))


def check_rules_clean(prom):
    time.sleep(2)   # a few rule evaluations over real series
    groups = prom.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    bad = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
    assert rules and not bad, f"rules not evaluating: {bad}"
    active = [(a["labels"]["alertname"], a["state"]) for a in prom.api("alerts")["alerts"]]
    assert not active, f"alerts active on a healthy pipeline: {active}"
    ok(f"{len(rules)} alert rules evaluate cleanly; none active")


def check_agent_down_alert(prom, agent, agent_http):
    assert agent.terminate() == 0

    def agent_down_pending():
        return [a for a in prom.api("alerts")["alerts"]
                if a["labels"]["alertname"] == "LogshipAgentDown"
                and a["labels"].get("instance") == agent_http and a["state"] == "pending"]
    harness.wait_until(agent_down_pending, 20, interval=0.5, what="LogshipAgentDown pending")
    ok("agent stopped: LogshipAgentDown pending for its instance")


def main():
    agent_bin, collector_bin = harness.binaries_from_argv()
    if not shutil.which(PROMETHEUS):
        sys.exit(f"test_prometheus: {PROMETHEUS} not found (Debian package prometheus)")
    work = harness.make_workdir("logship-prometheus")
    logs = work / "logs"
    logs.mkdir()
    with harness.PostgresServer() as pg:
        collector, port, collector_http = start_collector_with_metrics(collector_bin, work, pg)
        agent, agent_http = start_agent_with_metrics(agent_bin, work, port, logs)
        prom = None
        try:
            harness.wait_until(lambda: http_get(f"http://{agent_http}/metrics")[0] == 200, 15,
                               interval=0.2, what=f"agent serving http://{agent_http}/metrics")
            common.LineWriter(logs / "app.log").write(LINES)
            common.assert_exact(pg, LINES, 60, "lines before scraping")

            prom = Prometheus(work, {"logship-collector": collector_http, "logship-agent": agent_http})
            check_targets_up(prom, collector_http, agent_http)
            check_contract_scraped(prom)
            check_counters(prom)
            check_rules_clean(prom)
            check_agent_down_alert(prom, agent, agent_http)
        except BaseException:
            print("--- agent log ---\n" + agent.log_tail(30), file=sys.stderr)
            print("--- collector log ---\n" + collector.log_tail(30), file=sys.stderr)
            if prom:
                print("--- prometheus log ---\n" + prom.proc.log_tail(30), file=sys.stderr)
            raise
        finally:
            if prom:
                prom.proc.terminate()
            agent.terminate()
            collector.terminate()
    print(f"prometheus: {passed} passed, 0 failed")

if __name__ == "__main__":
    main()
