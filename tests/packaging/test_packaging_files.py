#!/usr/bin/env python3
"""Static checks of packaging/: alert rules, dashboards, Prometheus and compose files, Dockerfile.

1. promtool check rules alerts.yml, promtool test rules alerts_test.yml (synthetic series),
   promtool check config prometheus.yml.
2. Grafana dashboards: valid JSON, unique panel ids, every query valid PromQL (promtool
   checks them as recording rules once Grafana's variables are filled in).
3. Every metric the alerts and dashboards read is in the design's metric table (or is one
   of EXTRA_METRICS or KAFKA_METRICS below), and every metric of that table and of
   KAFKA_METRICS is on a dashboard.
4. docker-compose.yml: `docker-compose config` accepts it (with every profile); it has the
   collector, PostgreSQL, Elasticsearch and Prometheus services, wired to the files here; the
   `kafka` profile's services (Kafka, the edge and indexer collectors) are all in that profile,
   so the default `up` is unchanged, with pinned images, and every ${VAR} their collector
   configuration files read is set in their environment.
5. Dockerfile: no BuildKit-only syntax; multi-stage; non-root USER; EXPOSE 4740 9740;
   HEALTHCHECK through `logship-collector healthcheck`.

Usage: test_packaging_files.py  (no build needed)
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
PKG = SOURCE_DIR / "packaging"

# The metric table of the design (shared/design.md, "Metrics"), used when that file is not
# beside the checkout; when it is, its table is read and must agree.
CONTRACT_METRICS = {
    "logship_agent_records_read_total", "logship_agent_spool_bytes", "logship_agent_spool_frames",
    "logship_agent_batches_sent_total", "logship_agent_batches_acked_total",
    "logship_agent_batches_retried_total", "logship_collector_records_received_total",
    "logship_collector_sink_records_total", "logship_collector_sink_errors_total",
    "logship_collector_end_to_end_lag_seconds",
}
# Read by the alerts and dashboards but not (yet) in the design's table.
EXTRA_METRICS = {
    "up",                           # Prometheus' own, per scrape target
    "logship_collector_ingest_serving",    # gauge: 1 while gRPC health is SERVING, 0 when NOT_SERVING
    "logship_collector_sink_dead_lettered_total",  # records refused for good, kept in a dead letter
    "logship_agent_records_dead_lettered_total",   # records that fit no collector frame
}
# Exported only by a collector with Kafka configured (sinks.kafka: the four with sink="kafka";
# inputs.kafka: the others, consumer_lag once per partition held), so a collector without Kafka,
# as test_prometheus.py runs, has none of them. Their names are those the collector registers
# (collector/sinks/kafka, collector/inputs/kafka/inputs.kafka.cc).
KAFKA_METRICS = {
    "logship_collector_kafka_produced_messages_total", "logship_collector_kafka_delivery_errors_total",
    "logship_collector_kafka_producer_queue_bytes", "logship_collector_kafka_split_batches_total",
    "logship_collector_kafka_consumed_messages_total", "logship_collector_kafka_malformed_messages_total",
    "logship_collector_kafka_rebalances_total", "logship_collector_kafka_input_write_retries_total",
    "logship_collector_kafka_consumer_errors_total", "logship_collector_kafka_consumer_lag",
}
PROMQL_WORDS = {  # functions, keywords and aggregations that look like metric names
    "sum", "min", "max", "avg", "count", "rate", "irate", "increase", "deriv", "delta",
    "histogram_quantile", "by", "without", "and", "or", "unless", "on", "ignoring", "vector",
    "label_values", "absent", "time", "bool", "offset", "group_left", "group_right",
}

passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def metric_names(expr):
    """Metric names a PromQL expression reads (histogram series as their base name)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)                      # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)                         # matchers, ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)      # grouping labels
    names = set()
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", expr):
        name, call = m.group(1), m.group(2)
        if call or name in PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]?|e\d*", name):
            continue
        names.add(re.sub(r"_bucket$", "", name))
    return names


def contract_metrics():
    design = SOURCE_DIR.parent / "shared" / "design.md"
    if not design.exists():
        return CONTRACT_METRICS, "built-in copy of the design's metric table"
    text = design.read_text()
    table = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    rows = "\n".join(line for line in table.splitlines() if line.startswith("|"))
    names = set(re.findall(r"`(logship_[a-z0-9_]+)`", rows))
    assert names, f"no metric names found in {design}"
    return names, str(design)


def check_rules():
    prom = PKG / "prometheus"
    out = run(["promtool", "check", "rules", prom / "alerts.yml"]).stdout
    n = re.search(r"SUCCESS: (\d+) rules found", out).group(1)
    run(["promtool", "test", "rules", prom / "alerts_test.yml"], cwd=prom)
    run(["promtool", "check", "config", prom / "prometheus.yml"], cwd=prom)
    text = (prom / "alerts.yml").read_text()
    alerts = re.findall(r"^\s*- alert: (\w+)", text, re.M)
    for wanted in ("LogshipAgentDown", "LogshipAgentSpoolGrowing", "LogshipSinkErrors",
                   "LogshipEndToEndLagHigh", "LogshipCollectorNotServing", "LogshipRecordsDeadLettered",
                   "LogshipKafkaConsumerLagGrowing", "LogshipKafkaDeliveryErrors"):
        assert wanted in alerts, f"alerts.yml lacks {wanted}"
        assert f"alertname: {wanted}" in (prom / "alerts_test.yml").read_text(), \
            f"alerts_test.yml does not test {wanted}"
    ok(f"promtool: check rules ({n} rules), test rules, check config")
    return alert_exprs(text)


def alert_exprs(text):
    """The expr: values of a rules file as written here (one line, or a >- block)."""
    exprs, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not m:
            continue
        if m.group(2) not in (">-", ">", "|", "|-"):
            exprs.append(m.group(2))
            continue
        block, indent = [], len(m.group(1))
        for more in lines[i + 1:]:
            if more.strip() and len(more) - len(more.lstrip()) <= indent:
                break
            block.append(more.strip())
        exprs.append(" ".join(block))
    assert exprs, "no expr: in alerts.yml"
    return exprs


def dashboard_exprs():
    exprs = []
    for path in sorted((PKG / "grafana/dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        assert board.get("uid") and board.get("title"), f"{path.name}: no uid or title"
        ids = []
        panels = list(board["panels"])
        while panels:
            p = panels.pop()
            ids.append(p["id"])
            panels.extend(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((path.name, p.get("title", ""), t["expr"]))
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for var in board.get("templating", {}).get("list", []):
            q = var.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            m = re.fullmatch(r"label_values\((.+),\s*\w+\)", q or "")
            if m:
                exprs.append((path.name, f"variable {var['name']}", m.group(1)))
    assert exprs, "no dashboard queries"
    return exprs


def check_promql(exprs):
    """Grafana variables filled in, every query becomes a recording rule for promtool."""
    rules = ["groups:", "  - name: dashboards", "    rules:"]
    for i, (_, _, e) in enumerate(exprs):
        e = (e.replace("$__rate_interval", "5m").replace("$__interval", "1m")
              .replace("$__range", "1h").replace("${instance}", ".*").replace("$instance", ".*"))
        assert "$" not in e, f"unknown Grafana variable in: {e}"
        rules += [f"      - record: dashboard:query{i}", f"        expr: {json.dumps(e)}"]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write("\n".join(rules) + "\n")
        f.flush()
        run(["promtool", "check", "rules", f.name])
    ok(f"dashboards: {len(exprs)} queries in "
       f"{len(list((PKG / 'grafana/dashboards').glob('*.json')))} dashboards are valid PromQL")


def check_metric_names(alert_exprs, dash_exprs):
    contract, source = contract_metrics()
    used_alerts = set().union(*(metric_names(e) for e in alert_exprs))
    used_dash = set().union(*(metric_names(e) for _, _, e in dash_exprs))
    unknown = (used_alerts | used_dash) - contract - EXTRA_METRICS - KAFKA_METRICS
    assert not unknown, f"alerts/dashboards read metrics outside the contract ({source}): {sorted(unknown)}"
    unshown = (contract | KAFKA_METRICS) - used_dash
    assert not unshown, f"contract or Kafka metrics on no dashboard: {sorted(unshown)}"
    extras = sorted((used_alerts | used_dash) & (EXTRA_METRICS - {"up"}))
    ok(f"metric names: all from the contract ({source}), every contract metric and the "
       f"{len(KAFKA_METRICS)} Kafka ones on a dashboard"
       + (f"; outside the table: {', '.join(extras)}" if extras else ""))


def check_compose():
    compose = PKG / "docker-compose.yml"
    if shutil.which("docker-compose"):
        run(["docker-compose", "-f", compose, "config", "-q"])
        every = [a for p in ("elasticsearch", "kafka") for a in ("--profile", p)]
        run(["docker-compose", "-f", compose, *every, "config", "-q"])
        services = run(["docker-compose", "-f", compose, *every, "config", "--services"]).stdout.split()
        how = "docker-compose config"
    else:  # the check below still runs
        services = re.findall(r"^  (\w+):$", compose.read_text().split("\nservices:\n", 1)[1].split("\nvolumes:", 1)[0], re.M)
        how = "parsed (docker-compose not installed)"
    for s in ("collector", "postgres", "elasticsearch", "prometheus", "token", "kafka",
              "collector-edge", "collector-indexer"):
        assert s in services, f"docker-compose.yml: no {s} service ({services})"
    text = compose.read_text()
    # Secure by default: the collector runs with a token the stack generated, never open.
    assert "LOGSHIP_TOKEN_FILE" in text and "gen-token" in text and "insecure" not in text, \
        "docker-compose.yml must give the collector a generated token, not run it open"
    for ref in ("packaging/Dockerfile", "./prometheus:/etc/prometheus", "./grafana/dashboards"):
        assert ref in text, f"docker-compose.yml does not use {ref}"
    for path in re.findall(r"^\s+- \./([\w/.-]+):", text, re.M):
        assert (PKG / path).exists(), f"docker-compose.yml mounts missing ./{path}"
    ok(f"docker-compose.yml: {how}; services {', '.join(services)}")
    check_compose_kafka(yaml.safe_load(text))


def check_compose_kafka(doc):
    """The `kafka` profile: opt-in, pinned, and its collectors' files filled in by compose."""
    services = doc["services"]
    kafka = {n for n, s in services.items() if "kafka" in s.get("profiles", [])}
    assert {"kafka", "collector-edge", "collector-indexer"} <= kafka, f"kafka profile: {sorted(kafka)}"
    for name, s in services.items():   # a default service never waits for an opt-in one
        deps = set(s.get("depends_on", {}))
        for dep in deps:
            extra = set(services[dep].get("profiles", [])) - set(s.get("profiles", []))
            assert not extra, f"{name} depends on {dep}, which only runs with profile {sorted(extra)}"
    image = services["kafka"]["image"]
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", image), f"kafka: not the official image, pinned: {image}"
    env = services["kafka"]["environment"]
    assert "broker,controller" in env["KAFKA_PROCESS_ROLES"] and "CLUSTER_ID" in env, "kafka: not KRaft combined"
    roles = {}
    for name in ("collector-edge", "collector-indexer"):
        s = services[name]
        assert s["image"] == services["collector"]["image"], f"{name}: not the collector's image"
        mounts = [v.split(":") for v in s["volumes"] if v.endswith("/etc/logship/collector.yaml:ro")]
        assert len(mounts) == 1, f"{name}: mounts no configuration over /etc/logship/collector.yaml"
        config_text = (PKG / mounts[0][0]).read_text()
        config = yaml.safe_load(config_text)
        unset = set(re.findall(r"\$\{(\w+)\}", config_text)) - set(s.get("environment", {}))
        assert not unset, f"{name}: {mounts[0][0]} reads {sorted(unset)}, which compose does not set"
        roles[name] = config
    edge, indexer = roles["collector-edge"], roles["collector-indexer"]
    assert "kafka" in edge["sinks"] and "inputs" not in edge, "collector-edge: not an edge (sinks.kafka)"
    assert "kafka" in indexer.get("inputs", {}) and "kafka" not in indexer["sinks"], "collector-indexer: not an indexer"
    assert edge["sinks"]["kafka"]["topic"] == indexer["inputs"]["kafka"]["topic"], "edge and indexer topics differ"
    topics = services.get("kafka-topics", {}).get("entrypoint", [])
    assert edge["sinks"]["kafka"]["topic"] in topics, "no service creates the topic the collectors use"
    ok(f"docker-compose.yml: profile kafka ({', '.join(sorted(kafka))}) opt-in, {image}; "
       f"edge and indexer configurations filled in by compose, topic {edge['sinks']['kafka']['topic']}")


def check_dockerfile():
    text = (PKG / "Dockerfile").read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    buildkit = [pat for pat in (r"^# *syntax=", r"RUN\s+--(mount|network|security)", r"<<-?\s*\w+",
                                r"COPY\s+--(link|chmod|parents|exclude)", r"ADD\s+--(link|chmod|checksum)")
                if re.search(pat, text if pat.startswith("^#") else code, re.M)]
    assert not buildkit, f"Dockerfile uses BuildKit-only syntax: {buildkit}"
    froms = re.findall(r"^FROM\s+(\S+)", code, re.M)
    assert len(froms) >= 2 and froms[-1].endswith("-slim"), f"not multi-stage onto a -slim base: {froms}"
    user = re.findall(r"^USER\s+(\S+)", code, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0"), f"runs as root: {user}"
    assert re.search(r"^EXPOSE\s+4740\s+9740\s*$", code, re.M), "EXPOSE 4740 9740"
    assert re.search(r"^HEALTHCHECK\s.*\\\n\s*CMD logship-collector healthcheck", code, re.M) or \
        re.search(r"^HEALTHCHECK\s.*CMD logship-collector healthcheck", code, re.M), "HEALTHCHECK"
    assert "apt-get clean" in code and "rm -rf /var/lib/apt/lists" in code, "apt lists left in the image"
    ok(f"Dockerfile: classic-builder syntax, stages {' -> '.join(froms)}, USER {user[-1]}, "
       "EXPOSE 4740 9740, HEALTHCHECK")


def main():
    for tool in ("promtool",):
        if not shutil.which(tool):
            sys.exit(f"test_packaging_files: {tool} not found (Debian package prometheus; "
                     "scripts/install-deps.sh installs it)")
    alert_exprs = check_rules()
    dash = dashboard_exprs()
    check_promql(dash)
    check_metric_names(alert_exprs, dash)
    check_compose()
    check_dockerfile()
    print(f"packaging files: {passed} passed, 0 failed")


if __name__ == "__main__":
    main()
