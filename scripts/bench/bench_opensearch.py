#!/usr/bin/env python3
"""logship → a real OpenSearch node: documents/s, beside the node's own ingest ceiling on the
same documents.

One OpenSearch 2.19 node (tests/engines, default heap and settings) serves every run:
  warm-up   logship indexes the first --warmup-lines lines (JIT, caches), then the index is deleted
  per run   logship: agent → collector → elasticsearch sink (defaults: 5 MiB bulks, 4 in flight,
              no gzip; --sink-options to change) until the sink has committed every line (its records metric); then
              refresh + _count must equal the line count exactly
            ceiling: the same documents as pre-built `create` _bulk bodies of --bulk-mib
              (uncompressed NDJSON, fresh ids, into a new index with logship's mapping), sent
              by --curls parallel curl processes (one keep-alive connection each) until every
              item is acknowledged (any 429 item is sent again and counted); _count exact again
            both indices are deleted before the next step
The ceiling's documents are logship's own: after the first run's logship phase the `_source`s
are scrolled back out of the index, so they are byte for byte what the sink wrote. Node CPU is
utime+stime of the node's processes (/proc/<pid>/stat) over each timed window, per million
documents. Same-run ratio = logship docs/s / ceiling docs/s; target ≥ 0.80×.

usage: scripts/bench/bench_opensearch.py [--lines 500000] [--runs 3] [--build-dir build]
       [--no-template] [--curls 4] [--bulk-mib 5] [--warmup-lines 50000] [--agent-batch YAML]
--no-template: manage_template: false in the sink (collectors whose template/policy set-up
the test distribution refuses). Data is cached in /tmp/logship-bench/.
"""

import argparse
import contextlib
import json
import os
import pathlib
import random
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

from bench_processes import TICK, agent_config, free_port, metric, start_agent, start_collector, tail, workspace

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = pathlib.Path("/tmp/logship-bench")
ES_SINK_METRIC = 'logship_collector_sink_records_total{sink="elasticsearch"}'
LOGSHIP_INDICES = "logs-logship-*"   # the sink's default index, logs-logship-%Y.%m.%d
CEILING_INDEX = "bench-ceiling"
BULK_PATH = "/_bulk?filter_path=errors,items.*.status,items.*.error.type"
TARGET = 0.8


def data_file_lines(lines):
    """gen_data.py's mixed lines (same seed), exactly `lines` of them; cached."""
    import gen_data
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"mixed-{lines}lines.log"
    if not path.exists():
        print(f"generating {lines:,} mixed lines …", file=sys.stderr)
        tmp = path.with_suffix(".tmp")
        gen = gen_data.lines(random.Random(42))
        with open(tmp, "w") as f:
            for start in range(0, lines, 10000):
                f.write("".join(next(gen) for _ in range(min(10000, lines - start))))
        tmp.rename(path)
    return path


def node_cpu_seconds(node):
    """utime+stime of every process in the node's process group (the JVM is exec'd in place)."""
    total = 0
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == node.proc.pid:  # fields[2]: process group
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def es_metrics(port):
    """The collector's logship_collector_es_* and sink error series, {name: value}."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for m in re.finditer(r"^(logship_collector_(?:es_\w+|sink_(?:errors|dead_lettered)\w*)(?:\{[^}]*\})?) (\S+)$",
                         text, re.M):
        if 'sink="postgres"' not in m.group(1):
            out[m.group(1).replace('{sink="elasticsearch"}', "")] = float(m.group(2))
    return out


def check(node, method, path, body=None, ok=(200, 201)):
    status, resp = node.request(method, path, body, timeout=120)
    if status not in ok:
        raise RuntimeError(f"{method} {path}: {status} {str(resp)[:500]}")
    return resp


def delete_indices(node, pattern):
    check(node, "DELETE", f"/{pattern}?ignore_unavailable=true&allow_no_indices=true", ok=(200, 404))
    time.sleep(1)  # let the node finish closing shards before the next timed window


SINK_OPTIONS = ""  # --sink-options: more keys of the elasticsearch sink, e.g. "gzip: false"


def sink_yaml(url, template):
    return ("{elasticsearch: {urls: [\"" + url + "\"]" + ("" if template else ", manage_template: false") +
            (", " + SINK_OPTIONS if SINK_OPTIONS else "") + "}}")


def run_logship(build, node, path, lines, template, notes, agent_batch=None):
    """agent → collector → node; returns the figures once the sink committed every line."""
    with workspace() as (work, procs):
        collector, port, chttp = start_collector(build, work, procs, sink_yaml(node.url, template))
        cfg = agent_config(work, path, port, free_port())
        if agent_batch:
            cfg.write_text(cfg.read_text() + f"batch: {agent_batch}\n")
        cpu0, t0 = node_cpu_seconds(node), time.monotonic()
        agent = start_agent(build, work, procs, cfg)
        last, last_change = -1.0, t0
        while True:
            done = metric(chttp, ES_SINK_METRIC) or 0
            if done >= lines:
                break
            now = time.monotonic()
            if done != last:
                last, last_change = done, now
            elif now - last_change > 90:
                hint = "" if not template else (" (a collector whose template/ILM set-up the node refuses: "
                                                "try --no-template)")
                raise RuntimeError(f"no progress for 90 s at {done:.0f} of {lines} documents{hint}; "
                                   f"collector log:\n{tail(collector.log)}")
            collector.check_alive()
            agent.check_alive()
            time.sleep(0.05)
        wall = time.monotonic() - t0
        node_cpu = node_cpu_seconds(node) - cpu0
        m = es_metrics(chttp)
        # Why the sink retried, if it did: the last distinct warnings of the collector's log.
        why = list(dict.fromkeys(re.sub(r"^\S+ \S+ ", "", ln)[:200] for ln in tail(collector.log, 400).splitlines()
                                 if re.search(r"(?i)(elasticsearch|opensearch|_bulk).*(retry|fail|error|refused|\b429\b|\b5\d\d\b|timed? ?out)", ln)))[-3:]
        res = {"docs/s": lines / wall, "node CPU s/M docs": node_cpu / lines * 1e6,
               "collector CPU s/M docs": collector.cpu_seconds() / lines * 1e6,
               "agent CPU s/M docs": agent.cpu_seconds() / lines * 1e6}
    count = node.count(LOGSHIP_INDICES)
    if count != lines:
        raise RuntimeError(f"logship: _count {count} after refresh, expected exactly {lines}")
    interesting = {k.replace("logship_collector_", ""): v for k, v in m.items()
                   if v and not k.endswith(("requests_total", "items_created_total", "bytes_sent_total"))}
    requests = m.get("logship_collector_es_requests_total", 0)
    sent = m.get("logship_collector_es_bytes_sent_total", 0)
    notes.append(f"logship: {lines:,} lines → _count {count:,} (exact); {requests:.0f} _bulk requests "
                 f"({lines / max(requests, 1):,.0f} documents, {sent / max(requests, 1) / 1024:,.0f} KiB sent each)"
                 + (f"; {', '.join(f'{k} {v:.0f}' for k, v in interesting.items())}"
                    if interesting else "; no retries, no dead letters")
                 + (f"; collector log: {' / '.join(why)}" if interesting and why else ""))
    return res, wall


def export_bodies(node, lines, out_dir, bulk_bytes):
    """logship's documents (scrolled back out of its index) as `create` _bulk bodies of about
    bulk_bytes into CEILING_INDEX with fresh ids; returns (body files, index mappings, settings)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    resp = check(node, "POST", f"/{LOGSHIP_INDICES}/_search?scroll=5m", {"size": 10000, "sort": ["_doc"]})
    files, buf, total = [], [], 0

    def flush():
        if buf:
            f = out_dir / f"bulk-{len(files):04d}.ndjson"
            f.write_bytes(b"".join(buf))
            files.append(f)
            buf.clear()

    size = 0
    while resp["hits"]["hits"]:
        for hit in resp["hits"]["hits"]:
            action = json.dumps({"create": {"_index": CEILING_INDEX, "_id": str(uuid.uuid4())}},
                                separators=(",", ":"))
            doc = json.dumps(hit["_source"], separators=(",", ":"), ensure_ascii=False)
            item = (action + "\n" + doc + "\n").encode()
            if size + len(item) > bulk_bytes:
                flush()
                size = 0
            buf.append(item)
            size += len(item)
            total += 1
        resp = check(node, "POST", "/_search/scroll", {"scroll": "5m", "scroll_id": resp["_scroll_id"]})
    flush()
    check(node, "DELETE", "/_search/scroll", {"scroll_id": resp["_scroll_id"]}, ok=(200, 404))
    if total != lines:
        raise RuntimeError(f"scrolled {total} documents, expected {lines}")
    indices = check(node, "GET", f"/{LOGSHIP_INDICES}/_mapping")
    mappings = next(iter(indices.values()))["mappings"]
    settings = next(iter(check(node, "GET", f"/{LOGSHIP_INDICES}/_settings?flat_settings=true").values()))["settings"]
    keep = {k: v for k, v in settings.items()
            if k in ("index.number_of_shards", "index.number_of_replicas", "index.refresh_interval", "index.codec")
            or k.startswith("index.mapping.")}
    return files, mappings, keep


def run_ceiling(node, files, lines, mappings, settings, curls, work, notes, bulk_bytes=5 << 20):
    """The bodies, sent by `curls` curl processes at once until every item is acknowledged."""
    check(node, "PUT", f"/{CEILING_INDEX}", {"settings": settings, "mappings": mappings})
    groups = [files[i::curls] for i in range(curls)]
    cpu0, t0 = node_cpu_seconds(node), time.monotonic()
    procs = []
    for w, group in enumerate(groups):
        if not group:
            continue
        args = ["curl", "-sS"]
        for i, f in enumerate(group):
            if i:
                args.append("--next")
            args += ["-H", "Content-Type: application/x-ndjson", "-H", "Expect:", "--data-binary", f"@{f}",
                     "-o", str(work / f"resp-{w}-{i}.json"), "-w", "%{http_code}\n", node.url + BULK_PATH]
        procs.append((w, group, subprocess.Popen(args, stdout=subprocess.PIPE, text=True)))
    # Items answered other than 201 (429 when the write queue is full) are sent again.
    retry_items, statuses, errors = [], {}, {}
    for w, group, p in procs:
        codes = p.communicate()[0].split()
        if p.returncode:
            raise RuntimeError(f"curl exited with {p.returncode}")
        for i, f in enumerate(group):
            code = int(codes[i])
            statuses[code] = statuses.get(code, 0) + 1
            body = (work / f"resp-{w}-{i}.json").read_text()
            resp = json.loads(body) if code == 200 else None
            if code != 200:  # the whole request refused: why (e.g. 429 circuit_breaking_exception)
                with contextlib.suppress(ValueError, AttributeError, TypeError):
                    err = json.loads(body)["error"]
                    why = f"{code} {err.get('type')}: {str(err.get('reason'))[:160]}"
                    errors[why] = errors.get(why, 0) + 1
            if code != 200 or resp.get("errors"):
                pairs = f.read_bytes().splitlines(keepends=True)
                items = resp["items"] if resp else [{"create": {"status": code}}] * (len(pairs) // 2)
                for j, it in enumerate(items):
                    item = next(iter(it.values()))
                    if item["status"] not in (200, 201):
                        retry_items.append(pairs[2 * j] + pairs[2 * j + 1])
                        if resp:  # an item refused alone (a whole refused request is counted above)
                            why = f"item {item['status']} {item.get('error', {}).get('type', '')}".rstrip()
                            errors[why] = errors.get(why, 0) + 1
    resent, rounds = 0, 0
    while retry_items:  # in bodies of at most bulk_bytes, one at a time, until all are stored
        rounds += 1
        if rounds > 50:
            raise RuntimeError(f"ceiling: {len(retry_items)} items still refused after 50 rounds: {errors}")
        left, body = [], []
        for item in retry_items + [b""]:
            if item and sum(map(len, body)) + len(item) <= bulk_bytes:
                body.append(item)
                continue
            if body:
                resent += len(body)
                status, resp = node.request("POST", BULK_PATH, b"".join(body), timeout=120)
                if status != 200:
                    left += body
                else:
                    left += [body[j] for j, it in enumerate(resp["items"])
                             if next(iter(it.values()))["status"] not in (200, 201)]
            body = [item] if item else []
        retry_items = left
        if left:
            time.sleep(0.2)
    wall = time.monotonic() - t0
    node_cpu = node_cpu_seconds(node) - cpu0
    count = node.count(CEILING_INDEX)
    if count != lines:
        raise RuntimeError(f"ceiling: _count {count} after refresh, expected exactly {lines}")
    notes.append(f"ceiling: {len(files)} bodies, HTTP statuses {statuses}, items sent again {resent}, "
                 f"_count {count:,} (exact)" + (f"; refused: {errors}" if errors else ""))
    return {"ceiling docs/s": lines / wall, "ceiling node CPU s/M docs": node_cpu / lines * 1e6}, wall


def run_opensearch(build, lines, runs, template=True, curls=4, bulk_mib=5.0, warmup_lines=50000, notes=None,
                   log=print, agent_batch=None):
    """All runs on one node; returns the per-run figure dicts (see the module doc)."""
    sys.path.insert(0, str(REPO / "tests/engines"))
    import engines
    notes = notes if notes is not None else []
    path = data_file_lines(lines)
    results = []
    with engines.OpenSearchNode() as node, workspace() as (work, _):
        log(f"OpenSearch {node.version} at {node.url} (pid {node.proc.pid}, started in {node.start_seconds:.1f} s, "
            f"heap {node.heap}); {lines:,} lines ({path.stat().st_size / 2**20:.1f} MiB), "
            f"{'template on' if template else 'manage_template: false'}")
        if warmup_lines:
            warm = work / "warmup.log"
            with open(path) as src, open(warm, "w") as dst:
                for _, line in zip(range(min(warmup_lines, lines)), src):
                    dst.write(line)
            _, wall = run_logship(build, node, warm, min(warmup_lines, lines), template, [], agent_batch)
            log(f"warm-up: {min(warmup_lines, lines):,} lines through logship in {wall:.1f} s (not counted)")
            delete_indices(node, LOGSHIP_INDICES)
        files = mappings = settings = None
        for run in range(1, runs + 1):
            run_notes = []
            res, lwall = run_logship(build, node, path, lines, template, run_notes, agent_batch)
            if files is None:
                t = time.monotonic()
                files, mappings, settings = export_bodies(node, lines, work / "bodies", int(bulk_mib * 2**20))
                body_mib = sum(f.stat().st_size for f in files) / 2**20
                log(f"ceiling bodies: {len(files)} × ≤{bulk_mib:g} MiB ({body_mib:.1f} MiB NDJSON, "
                    f"{body_mib * 2**20 / lines:.0f} B/document) scrolled out in {time.monotonic() - t:.1f} s")
            delete_indices(node, LOGSHIP_INDICES)
            ceil, cwall = run_ceiling(node, files, lines, mappings, settings, curls, work, run_notes,
                                      int(bulk_mib * 2**20))
            delete_indices(node, CEILING_INDEX)
            res.update(ceil)
            res["ratio"] = res["docs/s"] / res["ceiling docs/s"]
            results.append(res)
            log(f"run {run}: logship {res['docs/s']:,.0f} docs/s ({lwall:.1f} s; node CPU "
                f"{res['node CPU s/M docs']:.1f} s/M docs, collector {res['collector CPU s/M docs']:.1f}, agent "
                f"{res['agent CPU s/M docs']:.1f}) | ceiling {res['ceiling docs/s']:,.0f} docs/s ({cwall:.1f} s; node "
                f"CPU {res['ceiling node CPU s/M docs']:.1f} s/M docs) | ratio {res['ratio']:.2f}×")
            for n in run_notes:
                log(f"  {n}")
            notes += run_notes
        peak = node.rss_peak_kib()
        notes.append(f"OpenSearch {node.version} (tests/engines integ-test distribution: one node, heap {node.heap}, "
                     f"serial GC, 1 shard 1 replica (yellow), refresh_interval default 1 s), peak RSS "
                     f"{(peak or 0) / 1024:.0f} MiB; logship sink defaults (bulk_max_bytes 5MiB, concurrency 4, gzip "
                     f"off){'' if template else ', manage_template: false'}{', ' + SINK_OPTIONS if SINK_OPTIONS else ''}; agent batch "
                     f"{agent_batch or 'default (2000 records / 1 MiB)'}; ceiling: {curls} curl processes, "
                     f"uncompressed bodies, mapping copied from logship's index.")
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=500000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-dir", "--bin-dir", dest="build_dir", default=str(REPO / "build"),
                    help="directory with agent/logship-agent and collector/logship-collector")
    ap.add_argument("--no-template", action="store_true", help="manage_template: false in the sink")
    ap.add_argument("--curls", type=int, default=4, help="parallel curl processes for the ceiling")
    ap.add_argument("--bulk-mib", type=float, default=5.0, help="ceiling _bulk body size (logship: bulk_max_bytes)")
    ap.add_argument("--warmup-lines", type=int, default=50000)
    ap.add_argument("--agent-batch", metavar="YAML", help="the agent's batch block, e.g. "
                    "'{max_records: 20000, max_bytes: 16MiB}' (default: the agent's defaults)")
    ap.add_argument("--sink-options", default="", help="more keys of the elasticsearch sink, e.g. 'gzip: false'")
    a = ap.parse_args()
    global SINK_OPTIONS
    SINK_OPTIONS = a.sink_options
    t0 = time.monotonic()
    notes = []
    runs = run_opensearch(pathlib.Path(a.build_dir).resolve(), a.lines, a.runs, template=not a.no_template,
                          curls=a.curls, bulk_mib=a.bulk_mib, warmup_lines=a.warmup_lines, notes=notes,
                          log=lambda s: print(s, flush=True), agent_batch=a.agent_batch)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    cols = ["docs/s", "ceiling docs/s", "ratio", "node CPU s/M docs", "ceiling node CPU s/M docs",
            "collector CPU s/M docs", "agent CPU s/M docs"]
    print(f"\nmedians of {len(runs)} run(s) ({os.cpu_count()} cores, {time.monotonic() - t0:.0f} s in all):")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---:|" * len(cols))
    print("| " + " | ".join((f"{med[c]:.2f}" if c == "ratio" else f"{med[c]:,.0f}" if "docs/s" in c
                             else f"{med[c]:.1f}") for c in cols) + " |")
    ratios = ", ".join(f"{r['ratio']:.2f}" for r in runs)
    print(f"per-run ratios: {ratios}; target ≥ {TARGET:.2f}×: "
          f"{'met' if med['ratio'] >= TARGET else 'NOT met'}")
    for n in dict.fromkeys(notes):
        if n.startswith("OpenSearch"):
            print(f"- {n}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
