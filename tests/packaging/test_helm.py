#!/usr/bin/env python3
"""The Helm chart (packaging/helm/logship): lint, render, validate, and check what matters.

For the default values and each value set in packaging/helm/logship/ci/*.yaml:
1. `helm lint --strict` accepts the chart.
2. `helm template` renders it, and `kubeconform -strict -kubernetes-version 1.30.0` accepts
   every object against the Kubernetes 1.30 schemas (made offline from the k8s.io/kubernetes
   module by scripts/fetch-k8s-tools.py). ServiceMonitor, PodMonitor and PrometheusRule are
   Prometheus Operator CRDs without a core schema: skipped by kubeconform, checked here.
3. The rendered agent.yaml and collector.yaml pass the real binaries' --check-config.
4. The objects do what README "Kubernetes" says: /var/log read-only and the hostPath data
   directory at data_dir, read-only root, no capabilities or escalation, tolerations, priority
   class; agents dial the Service with the token (and CA) from Secrets, never the collector's
   key; gRPC liveness (or its TLS stand-ins) and /healthz readiness on the configured ports;
   PDB, HPA, ServiceMonitor, PodMonitor and PrometheusRule (= alerts.yml) consistent; Kafka
   role edge / indexer: sinks.kafka / inputs.kafka from collector.kafka.
5. Values that cannot work fail the render with a message (a Kafka role without brokers, ...).

Helm and kubeconform come from scripts/fetch-k8s-tools.py (scripts/install-deps.sh runs it);
without them the test exits 77 (ctest: skipped) and says so. Helpers: helm_support.py.

Usage: test_helm.py --bin-dir BUILD_DIR
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

from helm_support import (CHART, NAMESPACE, RELEASE, SOURCE_DIR, Tools, load_fetcher, merged_values,
                          mounted_path, secret_items)

ALERTS = SOURCE_DIR / "packaging" / "prometheus" / "alerts.yml"
SKIP = 77
CRD_KINDS = ("ServiceMonitor", "PodMonitor", "PrometheusRule")

passed = 0


def ok(what):
    global passed
    passed += 1
    print(f"ok {passed}: {what}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def kinds(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = kinds(docs, kind)
    check(len(found) == 1, f"expected one {kind}, rendered {len(found)}")
    return found[0]


def check_config(binary, text, name, env, label):
    with tempfile.TemporaryDirectory(prefix="logship-helm-") as d:
        path = pathlib.Path(d) / name
        path.write_text(text)
        r = subprocess.run([str(binary), "--check-config", "--config", str(path)], capture_output=True,
                           text=True, env=dict(os.environ, **env))
        check(r.returncode == 0, f"{label}: {binary.name} --check-config refused the rendered {name} "
                                 f"(exit {r.returncode}):\n{r.stderr}\n--- {name} ---\n{text}")


def check_agent(docs, values, agent_bin, label):
    ds = one(docs, "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    a = values["agent"]

    log = mounts.get("/var/log")
    check(log and log.get("readOnly") is True, f"{label}: /var/log not mounted read-only: {log}")
    check(volumes[log["name"]]["hostPath"]["path"] == a["hostLogPath"], f"{label}: /var/log is not the node's")
    data = mounts.get("/var/lib/logship")
    check(data and not data.get("readOnly"), f"{label}: no writable /var/lib/logship mount")
    hp = volumes[data["name"]].get("hostPath", {})
    check(hp.get("path") == a["hostDataDir"] and hp.get("type") == "DirectoryOrCreate",
          f"{label}: the data directory is not the hostPath {a['hostDataDir']}: {volumes[data['name']]}")
    for path, m in mounts.items():
        if "hostPath" in volumes[m["name"]] and path not in ("/var/lib/logship",):
            check(m.get("readOnly") is True, f"{label}: hostPath {path} mounted writable")
    ok(f"{label}: DaemonSet mounts {a['hostLogPath']} read-only and {a['hostDataDir']} at data_dir")

    sc = c["securityContext"]
    check(sc.get("readOnlyRootFilesystem") is True, f"{label}: agent root filesystem writable")
    check(sc.get("allowPrivilegeEscalation") is False, f"{label}: agent may escalate privileges")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc["capabilities"].get("add"),
          f"{label}: agent keeps capabilities: {sc.get('capabilities')}")
    check(not sc.get("privileged"), f"{label}: agent privileged")
    check(sc.get("runAsUser") == a["securityContext"]["runAsUser"], f"{label}: runAsUser not from values")
    check(pod.get("automountServiceAccountToken") is False, f"{label}: agent mounts an API token")
    check(pod.get("priorityClassName"), f"{label}: agent has no priority class")
    if a["priorityClassName"]:
        check(pod["priorityClassName"] == a["priorityClassName"], f"{label}: priorityClassName ignored")
        check(not kinds(docs, "PriorityClass"), f"{label}: PriorityClass made though one was named")
    else:
        check(one(docs, "PriorityClass")["metadata"]["name"] == pod["priorityClassName"],
              f"{label}: the agent's priority class is not the one rendered")
    check(pod.get("tolerations") == a["tolerations"], f"{label}: tolerations not from values")
    ok(f"{label}: agent read-only root, no capabilities or escalation, uid {sc['runAsUser']}, "
       f"priority class {pod['priorityClassName']}, tolerations {pod['tolerations']}")

    cm = one([d for d in kinds(docs, "ConfigMap") if "agent.yaml" in d["data"]], "ConfigMap")
    config_mount = next(m for m in c["volumeMounts"] if volumes[m["name"]].get("configMap", {}).get("name")
                        == cm["metadata"]["name"])
    check(c["command"] == ["/usr/bin/logship-agent"]
          and c["args"] == ["--config", f"{config_mount['mountPath']}/agent.yaml"],
          f"{label}: agent command {c['command']} {c['args']} does not run the mounted agent.yaml")
    check_config(agent_bin, cm["data"]["agent.yaml"], "agent.yaml", {"NODE_NAME": "node-1"}, label)
    config = yaml.safe_load(cm["data"]["agent.yaml"])
    check(config["data_dir"] == "/var/lib/logship", f"{label}: data_dir {config['data_dir']}")
    check(config["agent_id"] == "${NODE_NAME}" and any(
        e["name"] == "NODE_NAME" and e["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName" for e in c["env"]),
        f"{label}: agent_id is not the node's name")
    check(pod["terminationGracePeriodSeconds"] >= 10, f"{label}: too short a grace period")
    ok(f"{label}: agent.yaml accepted by logship-agent --check-config; data_dir and agent_id as mounted")
    return pod, c, volumes, config


def check_collector(docs, values, collector_bin, label):
    c_values = values["collector"]
    dep = one(docs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}

    cm = one([d for d in kinds(docs, "ConfigMap") if "collector.yaml" in d["data"]], "ConfigMap")
    pod_env = {e["name"]: "x" for e in c.get("env", [])}   # ${VAR} of the file: set by the pod
    check_config(collector_bin, cm["data"]["collector.yaml"], "collector.yaml", pod_env, label)
    config = yaml.safe_load(cm["data"]["collector.yaml"])
    check_collector_kafka(config, c_values["kafka"], label)
    config_mount = next(m for m in c["volumeMounts"] if volumes[m["name"]].get("configMap", {}).get("name")
                        == cm["metadata"]["name"])
    check(c["command"] == ["/usr/bin/logship-collector"]
          and c["args"] == ["--config", f"{config_mount['mountPath']}/collector.yaml"],
          f"{label}: collector command {c['command']} {c['args']}")
    check(config["listen"].endswith(f":{ports['grpc']}"), f"{label}: listen {config['listen']} vs port {ports}")
    check(config["http"]["listen"].endswith(f":{ports['http']}"), f"{label}: http.listen vs port {ports}")
    ok(f"{label}: collector.yaml accepted by logship-collector --check-config; listens on the container ports")

    svc = one(docs, "Service")
    svc_ports = {p["name"]: p for p in svc["spec"]["ports"]}
    check(svc_ports["grpc"]["port"] == c_values["service"]["grpcPort"] and svc_ports["grpc"]["targetPort"] == "grpc",
          f"{label}: Service gRPC port {svc_ports['grpc']}")
    check(svc_ports["http"]["targetPort"] == "http", f"{label}: Service HTTP port {svc_ports['http']}")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    check(all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()), f"{label}: Service selects nothing")
    check(all(pod_labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items()),
          f"{label}: Deployment selector does not match its pods")

    check_collector_probes(c, volumes, ports, svc, values["tls"], label)

    sc, psc = c["securityContext"], pod.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"], f"{label}: collector security context {sc}")
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 10001, f"{label}: collector not non-root {psc}")
    data = next(m for m in c["volumeMounts"] if m["mountPath"] == config["data_dir"])
    check("emptyDir" in volumes[data["name"]], f"{label}: collector data_dir not writable")
    ok(f"{label}: collector non-root (10001), read-only root, data_dir {config['data_dir']} writable")

    check_collector_scaling(docs, dep, c, c_values, label)
    return pod, c, volumes, config, svc


def check_collector_kafka(config, kafka, label):
    """collector.kafka.role: edge adds sinks.kafka, indexer adds inputs.kafka, both from collector.kafka."""
    client = {"brokers": kafka["brokers"], "topic": kafka["topic"], **{"properties": kafka["properties"]}}
    client = {k: v for k, v in client.items() if v}   # no empty properties
    edge, indexer = config["sinks"].get("kafka"), config.get("inputs", {}).get("kafka")
    want = {"edge": ({**kafka["sink"], **client}, None), "indexer": (None, {**client, "group": kafka["group"]})}
    check((edge, indexer) == want.get(kafka["role"], (None, None)),
          f"{label}: Kafka role {kafka['role']!r}: sinks.kafka {edge}, inputs.kafka {indexer}")
    if kafka["role"]:
        ok(f"{label}: Kafka {kafka['role']}: {'sinks.kafka' if edge else 'inputs.kafka'} on {kafka['topic']} "
           f"from collector.kafka; sinks {sorted(config['sinks'])}")


def check_collector_probes(c, volumes, ports, svc, tls, label):
    """Liveness: gRPC health (TLS: the healthcheck command; mTLS: TCP). Readiness: /healthz."""
    live, ready = c["livenessProbe"], c["readinessProbe"]
    if not tls["enabled"]:
        check(live.get("grpc") == {"port": ports["grpc"], "service": ""}, f"{label}: gRPC liveness probe {live}")
        probe = "gRPC grpc.health.v1"
    elif not tls["clientAuth"]["enabled"]:
        cmd = live.get("exec", {}).get("command", [])
        check(cmd[:2] == ["/usr/bin/logship-collector", "healthcheck"] and f"127.0.0.1:{ports['grpc']}" in cmd
              and "--ca-file" in cmd, f"{label}: TLS liveness probe {live}")
        ca_path = cmd[cmd.index("--ca-file") + 1]
        check(ca_path == mounted_path(c, volumes, tls["caSecret"] or tls["serverSecret"], tls["caKey"]),
              f"{label}: the probe's --ca-file {ca_path} is not the mounted CA")
        check(cmd[cmd.index("--server-name") + 1] == (tls["serverName"] or
              f"{svc['metadata']['name']}.{NAMESPACE}.svc"), f"{label}: probe --server-name")
        probe = "exec healthcheck with the CA (TLS)"
    else:
        check(live.get("tcpSocket") == {"port": "grpc"}, f"{label}: mTLS liveness probe {live}")
        probe = "TCP (mTLS: the kubelet has no client certificate)"
    check(ready.get("httpGet", {}).get("path") == "/healthz" and ready["httpGet"]["port"] == "http",
          f"{label}: readiness probe {ready}")
    ok(f"{label}: collector liveness {probe}, readiness HTTP /healthz")


def check_collector_scaling(docs, dep, c, c_values, label):
    pgpass = [e for e in c.get("env", []) if e["name"] == "PGPASSWORD"]
    want = c_values["postgresPasswordSecret"]
    if want["name"]:
        check(pgpass and pgpass[0]["valueFrom"]["secretKeyRef"] == want, f"{label}: PGPASSWORD not from {want}")
    else:
        check(not pgpass, f"{label}: PGPASSWORD without a Secret")

    hpa = kinds(docs, "HorizontalPodAutoscaler")
    if c_values["autoscaling"]["enabled"]:
        check(len(hpa) == 1 and hpa[0]["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"],
              f"{label}: HPA does not scale the Deployment")
        check("replicas" not in dep["spec"], f"{label}: replicas fixed while the HPA scales")
    else:
        check(not hpa and dep["spec"]["replicas"] == c_values["replicas"], f"{label}: replicas/HPA")
    pdb = kinds(docs, "PodDisruptionBudget")
    if c_values["podDisruptionBudget"]["enabled"]:
        check(len(pdb) == 1 and pdb[0]["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"],
              f"{label}: PDB does not select the collectors")
    else:
        check(not pdb, f"{label}: PDB rendered though disabled")
    ok(f"{label}: HPA {'on' if hpa else 'off'}, PDB {'on' if pdb else 'off'}, PGPASSWORD "
       f"{'from ' + want['name'] if want['name'] else 'unset'}")


def check_wiring(docs, values, agent, collector, label):
    """Agents dial the Service with the fleet token (and CA); nobody but the collector has its key."""
    a_pod, a_c, a_vols, a_cfg = agent
    c_pod, c_c, c_vols, c_cfg, svc = collector
    auth, tls = values["auth"], values["tls"]
    fullname = values.get("fullnameOverride") or RELEASE   # the release's name holds the chart's
    secret = auth["existingSecret"] or f"{fullname}-token"
    made = kinds(docs, "Secret")
    if auth["existingSecret"]:
        check(not made, f"{label}: a Secret was made though existingSecret is set")
    else:
        check(len(made) == 1 and made[0]["metadata"]["name"] == secret and auth["secretKey"] in made[0]["data"],
              f"{label}: the token Secret is not made")
    endpoint = a_cfg["collector"]["endpoints"][0]
    check(endpoint == f"{svc['metadata']['name']}.{NAMESPACE}.svc:{values['collector']['service']['grpcPort']}",
          f"{label}: agents dial {endpoint}")
    check(a_cfg["collector"]["endpoints"][1:] == values["agent"]["extraEndpoints"], f"{label}: extraEndpoints")
    token_path = mounted_path(a_c, a_vols, secret, auth["secretKey"])
    check(token_path and a_cfg["collector"]["token_file"] == token_path,
          f"{label}: agent token_file {a_cfg['collector']['token_file']} is not Secret {secret} ({token_path})")
    tokens = c_cfg["auth"]["tokens"]
    check(tokens == [{"agent": "*", "token_file": mounted_path(c_c, c_vols, secret, auth["secretKey"])}],
          f"{label}: collector tokens {tokens}")
    for name, key, _ in [item for v in a_pod["volumes"] for item in secret_items(v)]:
        check((name, key) != (tls["serverSecret"], "tls.key"), f"{label}: agents mount the collector's key")
    if tls["enabled"]:
        ca_secret = tls["caSecret"] or tls["serverSecret"]
        at = a_cfg["collector"]["tls"]
        check(at["ca_file"] == mounted_path(a_c, a_vols, ca_secret, tls["caKey"]), f"{label}: agent ca_file {at}")
        check(at["server_name"] == (tls["serverName"] or f"{svc['metadata']['name']}.{NAMESPACE}.svc"),
              f"{label}: agent server_name {at}")
        ct = c_cfg["tls"]
        check(ct["cert_file"] == mounted_path(c_c, c_vols, tls["serverSecret"], "tls.crt")
              and ct["key_file"] == mounted_path(c_c, c_vols, tls["serverSecret"], "tls.key"),
              f"{label}: collector tls {ct}")
        if tls["clientAuth"]["enabled"]:
            ca = tls["clientAuth"]["clientCaSecret"] or ca_secret
            check(ct["client_ca_file"] == mounted_path(c_c, c_vols, ca, tls["clientAuth"]["clientCaKey"]),
                  f"{label}: client_ca_file {ct}")
            cert = tls["clientAuth"]["agentCertSecret"]
            check(at["cert_file"] == mounted_path(a_c, a_vols, cert, "tls.crt")
                  and at["key_file"] == mounted_path(a_c, a_vols, cert, "tls.key"), f"{label}: agent cert {at}")
        else:
            check("client_ca_file" not in ct and "cert_file" not in at, f"{label}: mTLS files without clientAuth")
    else:
        check("tls" not in a_cfg["collector"] and "tls" not in c_cfg, f"{label}: TLS files though TLS is off")
    ok(f"{label}: agents dial {endpoint} with Secret {secret}"
       + (f", TLS{' + client certificates' if tls['clientAuth']['enabled'] else ''}; the key stays with the collector"
          if tls["enabled"] else ", no TLS"))


def check_monitoring(docs, values, label):
    sm_on = values["metrics"]["serviceMonitor"]["enabled"]
    rule_on = values["metrics"]["prometheusRule"]["enabled"]
    sms, pms, rules = kinds(docs, "ServiceMonitor"), kinds(docs, "PodMonitor"), kinds(docs, "PrometheusRule")
    if not sm_on:
        check(not sms and not pms, f"{label}: monitors rendered though disabled")
    else:
        svc, ds = one(docs, "Service"), one(docs, "DaemonSet")
        (sm,), (pm,) = sms, pms
        check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
              f"{label}: ServiceMonitor selects no Service")
        check(sm["spec"]["endpoints"][0]["port"] == "http" and pm["spec"]["podMetricsEndpoints"][0]["port"] == "http",
              f"{label}: monitors scrape the wrong port")
        check(pm["spec"]["selector"]["matchLabels"] == ds["spec"]["selector"]["matchLabels"],
              f"{label}: PodMonitor selects no agent")
        jobs = {sm["spec"]["endpoints"][0]["relabelings"][0]["replacement"],
                pm["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["replacement"]}
        check(jobs == {"logship-collector", "logship-agent"}, f"{label}: scrape jobs {jobs}")
    if not rule_on:
        check(not rules, f"{label}: PrometheusRule rendered though disabled")
    else:
        (rule,) = rules
        check(rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"],
              f"{label}: PrometheusRule differs from packaging/prometheus/alerts.yml")
    if sm_on or rule_on:
        ok(f"{label}: ServiceMonitor/PodMonitor (jobs logship-collector, logship-agent) and PrometheusRule "
           f"(= alerts.yml) consistent")


def check_value_set(tools, values_files, agent_bin, collector_bin):
    label = pathlib.Path(values_files[0]).stem if values_files else "defaults"
    tools.run([tools.helm, "lint", "--strict", CHART, "--namespace", NAMESPACE, "--kube-version", tools.kube_version]
              + [a for f in values_files for a in ("--values", f)])
    ok(f"{label}: helm lint --strict")

    rendered = tools.template(values_files).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    conform = tools.run([tools.kubeconform, "-strict", "-summary", "-kubernetes-version", tools.kube_version,
                         "-schema-location", tools.schema_location, "-skip", ",".join(CRD_KINDS), "-"],
                        expect_ok=False, stdin=rendered)
    check(conform.returncode == 0, f"{label}: kubeconform refused the rendering (exit {conform.returncode}):\n"
                                   f"{conform.stdout}{conform.stderr}")
    check("Invalid: 0, Errors: 0" in conform.stdout, f"{label}: kubeconform: {conform.stdout}")
    ok(f"{label}: kubeconform -strict (Kubernetes {tools.kube_version}): {conform.stdout.strip()}")

    values = merged_values(values_files)
    collector = check_collector(docs, values, collector_bin, label)
    if values["agent"]["enabled"]:
        check_wiring(docs, values, check_agent(docs, values, agent_bin, label), collector, label)
    else:
        check(not kinds(docs, "DaemonSet") and not kinds(docs, "PriorityClass"), f"{label}: agent objects rendered")
    check_monitoring(docs, values, label)
    for d in docs:
        check(d["metadata"]["labels"].get("app.kubernetes.io/instance") == RELEASE,
              f"{label}: {d['kind']} {d['metadata']['name']} without the chart's labels")
        for k, v in values.get("commonLabels", {}).items():
            check(d["metadata"]["labels"].get(k) == v, f"{label}: commonLabels missing on {d['kind']}")
    return docs


def check_refusals(tools):
    cases = [
        (["collector.kafka.role=indexer"], "collector.kafka.role indexer needs collector.kafka.brokers"),
        (["collector.kafka.role=both", "collector.kafka.brokers={k:9092}"], 'must be "", "edge" or "indexer"'),
        (["tls.enabled=true"], "tls.enabled needs tls.serverSecret"),
        (["tls.enabled=true", "tls.serverSecret=x", "tls.clientAuth.enabled=true"],
         "needs tls.clientAuth.agentCertSecret"),
        (["collector.enabled=false"], "needs agent.extraEndpoints"),
    ]
    for sets, message in cases:
        r = tools.template(sets=sets, expect_ok=False)
        check(r.returncode != 0 and message in r.stderr, f"--set {sets} was not refused with '{message}':\n{r.stderr}")
    ok(f"values that cannot work are refused with a message ({len(cases)} cases)")


def main():
    parser = argparse.ArgumentParser(description="Helm chart checks")
    parser.add_argument("--bin-dir", required=True, help="the CMake build directory")
    bin_dir = pathlib.Path(parser.parse_args().bin_dir)
    agent_bin, collector_bin = bin_dir / "agent" / "logship-agent", bin_dir / "collector" / "logship-collector"
    for b in (agent_bin, collector_bin):
        if not os.access(b, os.X_OK):
            sys.exit(f"test_helm: binary not found or not executable: {b}")

    fetcher = load_fetcher()
    if not fetcher.available():
        print("#" * 78 + "\n# test_helm: SKIPPED: Helm, kubeconform or the Kubernetes schemas are not in "
              f"{fetcher.cache_dir()}.\n# Run `python3 scripts/fetch-k8s-tools.py` (scripts/install-deps.sh "
              "does) and run this again.\n" + "#" * 78, file=sys.stderr, flush=True)
        sys.exit(SKIP)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="logship-helm-home-") as home:
        tools = Tools(fetcher, pathlib.Path(home))
        version = tools.run([tools.helm, "version", "--short"]).stdout.strip()
        kc_version = tools.run([tools.kubeconform, "-v"]).stdout.strip()
        print(f"helm {version}, kubeconform {kc_version}, schemas {tools.schema_location}", flush=True)
        value_sets = [[]] + [[str(p)] for p in sorted((CHART / "ci").glob("*.yaml"))]
        check(len(value_sets) >= 3, "expected two or more value sets in packaging/helm/logship/ci/")
        for values_files in value_sets:
            check_value_set(tools, values_files, agent_bin, collector_bin)
        check_refusals(tools)
    print(f"helm: {passed} passed, 0 failed ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        print(f"helm: {passed} passed, 1 failed")
        sys.exit(1)
