#!/usr/bin/env python3
"""The Elasticsearch sink against real engines: OpenSearch 2.19 and Elasticsearch 8.19,
started by tests/engines on loopback (fetched from Maven Central, cached).

Each engine runs as one node with a write pool of 1 thread and a queue of 1, and
`http.max_content_length: 64kb`, so real 429s and 413s happen; other tests' bulks are
sent beside ours to make the 429s certain. On that node, for each engine:

A. Defaults: dated indices by event time, the template installed for the engine that
   answers (date_nanos @timestamp, labels flattened / flat_object, no ILM setting where
   the cluster has no lifecycle API), ECS fields. PostgreSQL is a second required sink.
   Sinks are written in the file's order, Elasticsearch first here. PostgreSQL is
   stopped while lines keep coming: Elasticsearch stores them, the agent
   re-sends, every re-send meets 409; PostgreSQL returns: each line once in each store.
B. A data stream through a real rollover between a send and its re-send: the re-send
   creates a second copy in the new backing index (`_id` is unique per backing index
   only). The README states this; dated indices (A) have no such window.
C. `dynamic: strict` (400) and a document over http.max_content_length (413): each refused
   record is dead-lettered once, every other record is in the index once.
D. `index.blocks.write` (403): nothing is dead-lettered, /healthz says why; unblocked,
   every record arrives once.
E. A URL whose path is not the cluster's `_bulk` (400 "no handler found"): the sink blocks
   and says so; nothing is dead-lettered.

    test_search_engines.py --bin-dir BUILD [--engine opensearch|elasticsearch]
"""

import json
import os
import pathlib
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "engines"))
import engines  # noqa: E402  (puts tests/integration on sys.path too)
import common  # noqa: E402
import harness  # noqa: E402

NODE_SETTINGS = {"thread_pool.write.size": 1, "thread_pool.write.queue_size": 1,
                 "http.max_content_length": "64kb"}


def es_yaml(url, extra=""):
    return ("  elasticsearch:\n"
            f"    urls: [\"{url}\"]\n"
            "    bulk_max_bytes: 24KiB\n"
            "    retry_min: 20ms\n"
            "    retry_max: 300ms\n" + extra)


def pg_yaml(pg):
    return f"  postgres:\n    dsn: \"{pg.dsn}\"\n    table: logs\n"


def collector_yaml(port, http_port, sinks):
    return (f"listen: 127.0.0.1:{port}\n"
            f"http: {{listen: 127.0.0.1:{http_port}}}\n"
            "health: {check_interval: 200ms, unhealthy_after: 1s}\n"
            "sinks:\n" + sinks)


def write_lines(path, start, count, trace_every=0, big_at=0):
    with open(path, "a") as f:
        for i in range(start, start + count):
            trace = f" trace_id=t{i}" if trace_every and i % trace_every == 0 else ""
            big = " " + os.urandom(100_000).hex() if i == big_at else ""
            f.write(f"seq={i:08d} level=warn msg=\"engine test\"{trace}{big}\n")


class Run:
    """One collector (and agent) against the node: start, metrics, log, stop."""

    def __init__(self, name, agent_bin, collector_bin, sinks_yaml):
        self.work = harness.make_workdir(name)
        self.logs = self.work / "logs"
        self.logs.mkdir()
        self.port, self.http_port = harness.free_port(), harness.free_port()
        cfg = self.work / "collector.yaml"
        cfg.write_text(collector_yaml(self.port, self.http_port, sinks_yaml(self.work)) + "pipeline:\n  - kv: {}\n")
        self.collector = common.start_collector(collector_bin, cfg, self.work)
        agent_cfg = common.write_agent_config(self.work, self.port, str(self.logs / "*.log"))
        self.agent = harness.Proc([agent_bin, "--config", agent_cfg], self.work, name="agent")

    def metric(self, name):
        return common.scrape_metric(self.http_port, f'{name}{{sink="elasticsearch"}}') or 0

    def log(self):
        return (self.work / "collector.log").read_text()

    def healthz(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            return 0, ""

    def dead_letters(self):
        path = self.work / "dead" / "elasticsearch-dead-letter.ndjson"
        return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []

    def stop(self):
        self.agent.terminate()
        self.collector.terminate()


def seqs_in(node, index):
    node.refresh(index)
    status, body = node.request("POST", f"/{index}/_search",
                                {"size": 10000, "_source": ["message"], "query": {"match_all": {}}})
    assert status == 200, (status, body)
    return [int(h["_source"]["message"].split()[0][4:]) for h in body["hits"]["hits"]]


def wait_count(node, index, expected, timeout, what, exact=True):
    def enough():
        try:
            return node.count(index) >= expected
        except Exception:  # the index does not exist yet
            return False
    try:
        harness.wait_until(enough, timeout, interval=0.5, what=what)
    except TimeoutError:
        raise AssertionError(f"{what}: fewer than {expected} documents in {index} after {timeout} s")
    if exact:
        time.sleep(1.5)  # a duplicate would show now
        n = node.count(index)
        assert n == expected, f"{what}: {n} documents, expected {expected}"


class Noise:
    """Bulks into another index from 3 threads, so the one-thread write pool rejects (429)."""

    def __init__(self, node):
        self.node, self.stop_flag, self.threads = node, threading.Event(), []
        doc = json.dumps({"noise": "x" * 80})
        self.body = "".join('{"index":{}}\n' + doc + "\n" for _ in range(150))

    def __enter__(self):
        for _ in range(3):
            t = threading.Thread(target=self.run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def run(self):
        while not self.stop_flag.is_set():
            try:
                self.node.request("POST", "/noise/_bulk", self.body, timeout=10)
            except Exception:
                time.sleep(0.1)

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=15)


def strict_mapping(node_is_opensearch):
    """Every field the sink writes except `trace`: a record with a trace id is refused."""
    kw = {"type": "keyword"}
    return {"dynamic": "strict", "properties": {
        "@timestamp": {"type": "date_nanos"}, "message": {"type": "text"},
        "event": {"properties": {"created": {"type": "date_nanos"}, "severity": {"type": "long"}}},
        "log": {"properties": {"level": kw, "logger": kw, "file": {"properties": {"path": kw}}}},
        "host": {"properties": {"name": kw}}, "agent": {"properties": {"id": kw, "type": kw}},
        "service": {"properties": {"name": kw}}, "transaction": {"properties": {"id": kw}},
        "ecs": {"properties": {"version": kw}},
        "labels": {"type": "flat_object" if node_is_opensearch else "flattened"}}}


def empty_table(pg):
    try:
        pg.query("TRUNCATE logs")
    except harness.HarnessError:
        pass  # not created yet: the collector creates it


def today(prefix):
    return time.strftime(prefix + "-%Y.%m.%d", time.gmtime())


def scenario_defaults(node, agent_bin, collector_bin, pg, engine):
    empty_table(pg)
    run = Run(f"logship-{engine}-a", agent_bin, collector_bin, lambda w: es_yaml(node.url) + pg_yaml(pg))
    common.wait_healthy(collector_bin, run.port)
    with Noise(node):
        write_lines(run.logs / "app.log", 1, 3000, trace_every=7)
        common.assert_exact(pg, 3000, 120, f"{engine} A (postgres)")
        wait_count(node, "logs-logship-*", 3000, 60, f"{engine} A (dated index)")
    retried = run.metric("logship_collector_es_items_retried_total") + \
        run.metric("logship_collector_es_request_retries_total")
    assert retried > 0, "the one-thread write pool should have answered 429 to some bulks"
    log = run.log()
    assert f"{engine} {node.version}" in log, "the detected engine and version are not logged:\n" + log[-3000:]
    status, tmpl = node.request("GET", "/_index_template/logship")
    assert status == 200, tmpl
    t = tmpl["index_templates"][0]["index_template"]
    assert t["index_patterns"] == ["logs-logship-*"], t
    props = t["template"]["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date_nanos", props["@timestamp"]
    assert props["labels"]["type"] == ("flat_object" if engine == "opensearch" else "flattened"), props["labels"]
    lifecycle_missing = "has no" in log and "API (the plugin is not installed)" in log
    if lifecycle_missing:
        assert "index.lifecycle.name" not in json.dumps(t), "a template naming a policy the cluster cannot have"
    mapping = node.request("GET", f"/{today('logs-logship')}/_mapping")[1]
    assert mapping[today("logs-logship")]["mappings"]["properties"]["@timestamp"]["type"] == "date_nanos"
    node.refresh("logs-logship-*")
    hit = node.request("POST", "/logs-logship-*/_search", {"size": 1, "query": {"exists": {"field": "trace.id"}}}
                       )[1]["hits"]["hits"][0]["_source"]
    assert hit["agent"] == {"id": "test-agent", "type": "logship"} and hit["ecs"]["version"], hit
    assert hit["log"]["level"] == "warn" and hit["log"]["file"]["path"].endswith("app.log"), hit
    assert hit["service"]["name"] == "e2e" and hit["trace"]["id"].startswith("t"), hit
    assert hit["@timestamp"].endswith("Z") and "_type" not in hit, hit

    # 409: PostgreSQL goes away; Elasticsearch keeps storing; re-sends meet the stored ids.
    pg.stop_server()
    write_lines(run.logs / "app.log", 3001, 1000)
    wait_count(node, "logs-logship-*", 4000, 60, f"{engine} A (while PostgreSQL is down)", exact=False)
    harness.wait_until(lambda: run.metric("logship_collector_es_items_conflict_total") > 0, 30,
                       what="re-sent documents meeting 409")
    pg.start_server()
    common.assert_exact(pg, 4000, 120, f"{engine} A (postgres back)")
    wait_count(node, "logs-logship-*", 4000, 30, f"{engine} A (after the re-sends)")
    seqs = seqs_in(node, "logs-logship-*")
    assert sorted(seqs) == list(range(1, 4001)), "duplicates or gaps in the dated index"
    conflicts = run.metric("logship_collector_es_items_conflict_total")
    assert not run.dead_letters()
    run.stop()
    print(f"{engine} A: 4000 lines once in PostgreSQL and once in the dated index; "
          f"{retried:.0f} documents/requests retried after 429; {conflicts:.0f} re-sent documents met 409; "
          f"lifecycle API {'absent (template without it)' if lifecycle_missing else 'installed'}")


def scenario_data_stream_rollover(node, agent_bin, collector_bin, pg, engine):
    empty_table(pg)
    ds = "logs-logship-ds"
    run = Run(f"logship-{engine}-b", agent_bin, collector_bin, lambda w: es_yaml(
        node.url, f"    data_stream: {ds}\n    template_name: logship-ds\n    policy_name: logship-ds\n") + pg_yaml(pg))
    common.wait_healthy(collector_bin, run.port)
    write_lines(run.logs / "app.log", 1, 1000)
    common.assert_exact(pg, 1000, 90, f"{engine} B (postgres)")
    wait_count(node, ds, 1000, 60, f"{engine} B (data stream)")
    pg.stop_server()
    write_lines(run.logs / "app.log", 1001, 500)
    wait_count(node, ds, 1500, 60, f"{engine} B (while PostgreSQL is down)", exact=False)
    status, body = node.request("POST", f"/{ds}/_rollover")
    assert status == 200 and body["rolled_over"], body
    # The agent keeps re-sending the unacknowledged batches: into the new backing index.
    wait_count(node, ds, 1501, 60, f"{engine} B (a re-send after the rollover)", exact=False)
    pg.start_server()
    common.assert_exact(pg, 1500, 120, f"{engine} B (postgres back)")
    time.sleep(1.5)
    seqs = seqs_in(node, ds)
    copies = len(seqs) - len(set(seqs))
    assert sorted(set(seqs)) == list(range(1, 1501)), "a record is missing from the data stream"
    assert copies > 0 and all(s > 1000 for s in seqs if seqs.count(s) > 1), copies
    run.stop()
    print(f"{engine} B: data stream, rollover between send and re-send: all 1500 present, "
          f"{copies} second copies in the new backing index (dated indices: 0, scenario A)")


def scenario_refused_documents(node, agent_bin, collector_bin, engine):
    index = today("strict")
    status, body = node.request("PUT", f"/{index}", {"mappings": strict_mapping(engine == "opensearch")})
    assert status == 200, body
    run = Run(f"logship-{engine}-c", agent_bin, collector_bin, lambda w: es_yaml(
        node.url, f"    index: strict-%Y.%m.%d\n    manage_template: false\n    dead_letter_dir: {w / 'dead'}\n"))
    common.wait_healthy(collector_bin, run.port)
    total, trace_every, big_at = 2000, 10, 1001
    write_lines(run.logs / "app.log", 1, total, trace_every=trace_every, big_at=big_at)
    refused = {i for i in range(1, total + 1) if i % trace_every == 0} | {big_at}
    harness.wait_until(lambda: len(run.dead_letters()) >= len(refused), 90, interval=0.5,
                       what=f"{len(refused)} dead letters")
    wait_count(node, "strict-*", total - len(refused), 60, f"{engine} C (strict)")
    letters = run.dead_letters()
    dead_seqs = [int(l["payload"].split('"message":"seq=')[1][:8]) for l in letters]
    assert sorted(dead_seqs) == sorted(refused), "each refused record dead-lettered once"
    stored = seqs_in(node, "strict-*")
    assert sorted(stored) == sorted(set(range(1, total + 1)) - refused), "every other record stored once"
    codes = {l["code"] for l in letters}
    big = [l for l in letters if f"seq={big_at:08d}" in l["payload"]]
    assert big and big[0]["code"] == "413 request", codes
    assert all(l["code"].startswith("400 ") and "trace" in l["error"] for l in letters if l not in big), codes
    run.stop()
    print(f"{engine} C: {total - len(refused)} stored once; {len(refused) - 1} strict-mapping 400s and "
          f"one 413 dead-lettered once each ({sorted(codes)})")


def scenario_blocked_and_wrong_path(node, agent_bin, collector_bin, engine):
    index = today("blocked")
    assert node.request("PUT", f"/{index}", {"settings": {"index.blocks.write": True}})[0] == 200
    run = Run(f"logship-{engine}-d", agent_bin, collector_bin, lambda w: es_yaml(
        node.url, f"    index: blocked-%Y.%m.%d\n    manage_template: false\n    dead_letter_dir: {w / 'dead'}\n"))
    common.wait_healthy(collector_bin, run.port)
    write_lines(run.logs / "app.log", 1, 500)
    harness.wait_until(lambda: run.healthz()[0] == 503, 30, what="/healthz 503 while the index is blocked")
    assert "403" in run.log() and "cluster_block_exception" in run.log(), run.log()[-2000:]
    assert not run.dead_letters() and node.count("blocked-*") == 0
    assert node.request("PUT", f"/{index}/_settings", {"index.blocks.write": False})[0] == 200
    wait_count(node, "blocked-*", 500, 90, f"{engine} D (unblocked)")
    assert sorted(seqs_in(node, "blocked-*")) == list(range(1, 501)) and not run.dead_letters()
    run.stop()

    run = Run(f"logship-{engine}-e", agent_bin, collector_bin, lambda w: es_yaml(
        node.url + "/not/es", f"    index: wrongpath-%Y.%m.%d\n    dead_letter_dir: {w / 'dead'}\n"))
    write_lines(run.logs / "app.log", 1, 100)
    harness.wait_until(lambda: "check urls" in run.log() or "no _bulk endpoint" in run.log(), 30,
                       what="an error naming the URL")
    time.sleep(1.0)
    harness.wait_until(lambda: run.healthz()[0] == 503, 15, what="/healthz 503 with a wrong URL path")
    assert not run.dead_letters(), "a wrong URL path must not dead-letter documents"
    run.stop()
    print(f"{engine} D: index.blocks.write → 403 blocks the sink, 0 dead letters, 500 once after unblocking; "
          f"E: a path that is not _bulk → blocked with an error naming the URL, 0 dead letters")


def run_engine(engine, agent_bin, collector_bin, pg):
    node_class = engines.OpenSearchNode if engine == "opensearch" else engines.ElasticsearchNode
    started = time.monotonic()
    with node_class(settings=NODE_SETTINGS) as node:
        print(f"{engine} {node.version} ready in {time.monotonic() - started:.1f} s at {node.url}")
        scenario_defaults(node, agent_bin, collector_bin, pg, engine)
        scenario_data_stream_rollover(node, agent_bin, collector_bin, pg, engine)
        scenario_refused_documents(node, agent_bin, collector_bin, engine)
        scenario_blocked_and_wrong_path(node, agent_bin, collector_bin, engine)
    print(f"{engine}: all scenarios passed in {time.monotonic() - started:.0f} s")


def main():
    args = sys.argv[1:]
    only = None
    if "--engine" in args:
        only = args[args.index("--engine") + 1]
        del args[args.index("--engine"):args.index("--engine") + 2]
    sys.argv[1:] = args
    agent_bin, collector_bin = harness.binaries_from_argv()
    with harness.PostgresServer() as pg:
        for engine in ("opensearch", "elasticsearch"):
            if only in (None, engine):
                run_engine(engine, agent_bin, collector_bin, pg)
    print("search engines: all scenarios passed")


if __name__ == "__main__":
    main()
