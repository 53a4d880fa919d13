#!/usr/bin/env python3
"""Real OpenTelemetry SDKs against a real collector and PostgreSQL (issue 23, part 3).

Runs examples/python (the OTel Python SDK, in .cache/venv-otel) and examples/go (the OTel Go
SDK with its OTLP/gRPC log exporter, built into .cache/otel-examples/payments), both made by
scripts/install-deps.sh, against a collector that requires a bearer token:

1. one trace across both services: the test hands a W3C traceparent to the Python service,
   which passes its own span's traceparent on to the Go service (as an HTTP call would);
   every event arrives exactly once, with the trace id in the `trace_id` column, its span
   id, severity, attributes and service (the `source` column);
2. a wrong token and no token are refused (UNAUTHENTICATED): both clients exit 1, nothing of
   theirs is stored, and the collector counts the refusals.

Exit 77 (skipped) when the venv or the Go binary is missing (run scripts/install-deps.sh).
"""

import json
import os
import pathlib
import re
import secrets
import subprocess
import sys
import time

import common
import harness

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".cache" / "venv-otel" / "bin" / "python"
PY_SERVICE = REPO / "examples" / "python" / "checkout.py"
GO_SERVICE = REPO / ".cache" / "otel-examples" / "payments"
TOKEN = "otel-clients-token-0123456789abcdef"
ORDERS, CHARGES = 4, 3


def missing_clients():
    """What is missing to run both examples (empty when both are there)."""
    return [f"{p} (run scripts/install-deps.sh)" for p in (VENV_PYTHON, GO_SERVICE) if not os.access(p, os.X_OK)]


def new_traceparent():
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def expected_events(orders=ORDERS, charges=CHARGES):
    """{(service, body): (severity, {attribute: text})} of one run of each example."""
    py = {"cart received": (9, {"event": "cart.received", "cart.items": str(orders), "user.tier": "gold"})}
    for i in range(1, orders + 1):
        py[f"order {i} priced"] = (9, {"event": "order.priced", "order.seq": str(i), "order.total": 19.5 * i})
    py["stock low for sku A-17"] = (13, {"event": "stock.low", "sku": "A-17", "stock.remaining": "2"})
    py["handing over to payments"] = (9, {"event": "payment.requested", "span.kind": "client"})
    go = {"payment requested": (9, {"event": "payment.requested", "charges": str(charges)})}
    for i in range(1, charges + 1):
        go[f"charge {i} authorized"] = (9, {"event": "charge.authorized", "charge.seq": str(i), "amount": 19.5 * i})
    go["card declined, retrying with backup card"] = (17, {"event": "card.declined", "card.brand": "visa",
                                                           "retry": "true"})
    return {**{("checkout-py", b): v for b, v in py.items()}, **{("payments-go", b): v for b, v in go.items()}}


def run_clients(endpoint, token, traceparent, orders=ORDERS, charges=CHARGES):
    """Runs the Python service, then the Go one in the trace the Python span continues.

    Returns (python CompletedProcess, go CompletedProcess, the Python span's traceparent or None).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["LOGSHIP_TOKEN"] = token
    py = subprocess.run([str(VENV_PYTHON), str(PY_SERVICE), "--endpoint", endpoint, "--orders", str(orders)],
                        env={**env, "TRACEPARENT": traceparent}, capture_output=True, text=True, timeout=120)
    hop = py.stdout.strip().splitlines()[-1] if py.stdout.strip() else None
    go = subprocess.run([str(GO_SERVICE), "-endpoint", endpoint, "-charges", str(charges)],
                        env={**env, "TRACEPARENT": hop or traceparent}, capture_output=True, text=True, timeout=120)
    return py, go, hop


def explain(proc):
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-2000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"


def one_trace(env):
    pg, endpoint = env["pg"], env["endpoint"]
    parent = new_traceparent()
    trace_id = parent.split("-")[1]
    t0 = time.monotonic()
    py, go, hop = run_clients(endpoint, TOKEN, parent)
    took = time.monotonic() - t0
    assert py.returncode == 0, f"python service: {explain(py)}"
    assert go.returncode == 0, f"go service: {explain(go)}"
    assert hop and re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", hop), hop
    assert hop.split("-")[1] == trace_id, f"the Python span left the trace: {hop} vs {parent}"
    py_span = hop.split("-")[2]
    want = expected_events()

    def stored():
        try:
            return int(pg.scalar("SELECT count(*) FROM logs")) >= len(want)
        except harness.HarnessError:  # no table yet
            return False
    try:
        harness.wait_until(stored, 30, interval=0.2, what=f"{len(want)} rows")
    except TimeoutError:
        raise AssertionError(f"only {pg.scalar('SELECT count(*) FROM logs')} of {len(want)} events arrived")
    time.sleep(1.0)  # a duplicate would show now
    rows = pg.query("SELECT source, body, severity, coalesce(trace_id, '-'), host, agent_id, attributes::text "
                    "FROM logs ORDER BY ts, body")
    seen = [(r[0], r[1]) for r in rows]
    assert len(seen) == len(set(seen)) == len(want) and set(seen) == set(want), (
        f"stored events differ: extra/duplicated {sorted(set(seen) - set(want)) or len(seen) - len(set(seen))}, "
        f"missing {sorted(set(want) - set(seen))}")
    spans = {}
    for source, body, severity, tid, host, agent_id, attrs_text in rows:
        attrs = json.loads(attrs_text)
        sev, want_attrs = want[(source, body)]
        assert tid == trace_id, f"{source} {body!r}: trace_id column {tid!r}, expected {trace_id}"
        assert int(severity) == sev, f"{source} {body!r}: severity {severity}, expected {sev}"
        assert agent_id == "shop-apps" and host, (agent_id, host)
        for k, v in want_attrs.items():
            got = attrs.get(k)
            ok = got is not None and (abs(float(got) - v) < 1e-9 if isinstance(v, float) else got == v)
            assert ok, f"{source} {body!r}: attribute {k}={got!r}, expected {v!r} (all: {attrs})"
        assert attrs.get("service.name") == source, attrs
        assert attrs.get("severity_text", "").startswith(("INFO", "WARN", "ERROR")), attrs
        assert re.fullmatch(r"[0-9a-f]{16}", attrs.get("span_id", "")), attrs
        spans.setdefault(source, set()).add(attrs["span_id"])
    assert spans["checkout-py"] == {py_span}, f"python events' span ids {spans['checkout-py']}, its span {py_span}"
    assert len(spans["payments-go"]) == 1 and spans["payments-go"] != spans["checkout-py"], spans
    return (f"{len(want)} events from 2 services stored once each in trace {trace_id} "
            f"(severity, attributes, span ids, service); clients took {took:.1f} s")


def wrong_token(env):
    pg, endpoint = env["pg"], env["endpoint"]
    before = int(pg.scalar("SELECT count(*) FROM logs"))
    refused_before = common.scrape_metric(env["http"], "logship_collector_auth_failures_total") or 0
    notes = []
    for name, token in (("a wrong token", "not-the-token-0123456789abcdef"), ("no token", "")):
        parent = new_traceparent()
        py, go, _ = run_clients(endpoint, token, parent, orders=1, charges=1)
        for label, proc in (("python", py), ("go", go)):
            assert proc.returncode == 1, f"{label} service with {name} did not fail: {explain(proc)}"
            assert re.search(r"UNAUTHENTICATED|Unauthenticated|refused", proc.stderr), explain(proc)
        stored = pg.scalar(f"SELECT count(*) FROM logs WHERE trace_id = '{parent.split('-')[1]}'")
        assert stored == "0", f"{stored} events with {name} were stored"
        notes.append(name)
    time.sleep(0.5)
    assert int(pg.scalar("SELECT count(*) FROM logs")) == before, "rows appeared without a valid token"
    refused = (common.scrape_metric(env["http"], "logship_collector_auth_failures_total") or 0) - refused_before
    assert refused >= 4, f"the collector counted {refused} refusals, expected at least 4"
    return f"{' and '.join(notes)}: both clients exit 1 with UNAUTHENTICATED, nothing stored, {refused:.0f} refusals counted"


def main():
    _, collector_bin = harness.binaries_from_argv()
    missing = missing_clients()
    if missing:
        print("SKIPPED: the OpenTelemetry example clients are not built:\n  " + "\n  ".join(missing), file=sys.stderr)
        print("SKIPPED: OTel clients missing")
        sys.exit(77)
    work = harness.make_workdir("logship-otel-clients")
    (work / "apps.token").write_text(TOKEN + "\n")
    start = time.monotonic()
    with harness.PostgresServer() as pg:
        port, http_port = harness.free_port(), harness.free_port()
        cfg = work / "collector.yaml"
        cfg.write_text(f"listen: 127.0.0.1:{port}\n"
                       f"sinks:\n  postgres:\n    dsn: \"{pg.dsn}\"\n"
                       f"http: {{listen: 127.0.0.1:{http_port}}}\n"
                       f"auth:\n  tokens:\n    - {{agent: shop-apps, token_file: {work / 'apps.token'}}}\n")
        collector = common.start_collector(collector_bin, cfg, work)
        env = {"pg": pg, "endpoint": f"127.0.0.1:{port}", "http": http_port}
        try:
            common.wait_healthy(collector_bin, port)
        except TimeoutError:
            raise SystemExit(f"collector not healthy:\n{collector.log_tail(30)}")
        passed = 0
        for case in (one_trace, wrong_token):
            try:
                note = case(env)
            except BaseException:
                print(f"FAILED: {case.__name__}\n--- collector ---\n{collector.log_tail(30)}", file=sys.stderr)
                raise
            print(f"ok {case.__name__}: {note}")
            passed += 1
        assert collector.alive(), "the collector died"
        assert collector.terminate() == 0
    print(f"{passed} passed, 0 failed ({time.monotonic() - start:.1f} s)")


if __name__ == "__main__":
    main()
