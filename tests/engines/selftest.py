#!/usr/bin/env python3
"""Self-test of tests/engines: start each engine, do a small round trip, stop it, print times.

    python3 tests/engines/selftest.py [opensearch elasticsearch kafka] [--no-fetch] [--quick]

Fetches missing engines first (unless --no-fetch: then a missing engine is skipped).
--quick skips the second start of each search engine with the limit settings that tests use
(write thread pool of 1 with a queue of 1, http.max_content_length 1kb).
Ends with 'N passed, N failed, N skipped'; exit status 1 when anything failed.
"""

import argparse
import json
import os
import pathlib
import sys
import time
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import engines  # noqa: E402
import fetch  # noqa: E402

LIMIT_SETTINGS = {"thread_pool.write.size": 1, "thread_pool.write.queue_size": 1,
                  "http.max_content_length": "1kb"}


class Steps:
    def __init__(self, name):
        self.name = name
        self.t = time.monotonic()

    def __call__(self, what, value=""):
        now = time.monotonic()
        print(f"  {self.name:13} {what:42} {now - self.t:6.1f}s  {value}", flush=True)
        self.t = now


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def search_round_trip(cls):
    step = Steps(cls.engine)
    with cls() as node:
        step("start (until health yellow)", f"{node.distribution} {node.version} at {node.url}")
        status, body = node.request("PUT", "/selftest", {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"msg": {"type": "text"}, "n": {"type": "long"}}}})
        check(status == 200, f"create index: {status} {body}")
        status, body = node.request("PUT", "/selftest/_doc/1?refresh=true",
                                    {"msg": "hello engines", "n": 1})
        check(status == 201, f"index doc: {status} {body}")
        bulk = "".join(json.dumps(x) + "\n" for x in (
            {"create": {"_id": "2"}}, {"msg": "second line", "n": 2},
            {"create": {"_id": "1"}}, {"msg": "duplicate id", "n": 3}))
        status, body = node.request("POST", "/selftest/_bulk?refresh=true", bulk)
        codes = [next(iter(i.values()))["status"] for i in body["items"]]
        check(status == 200 and codes == [201, 409], f"_bulk create: {status} {codes}")
        status, body = node.request("POST", "/selftest/_search",
                                    {"query": {"match": {"msg": "hello"}}})
        hits = body["hits"]["hits"]
        check(status == 200 and [h["_id"] for h in hits] == ["1"], f"search: {status} {body}")
        check(node.count("selftest") == 2, "count != 2")
        status, _ = node.request("PUT", "/_index_template/selftest-tpl", {
            "index_patterns": ["selftest-ds*"], "data_stream": {},
            "template": {"settings": {"number_of_replicas": 0}}})
        check(status == 200, f"index template: {status}")
        status, body = node.request("POST", "/selftest-ds/_bulk", json.dumps(
            {"create": {}}) + "\n" + json.dumps({"@timestamp": "2024-05-01T00:00:00Z"}) + "\n")
        check(status == 200 and not body["errors"], f"data stream write: {status} {body}")
        step("index, _bulk (201 + 409), search, count, data stream")
        rss = node.rss_peak_kib()
        node.stop()
        step("stop", f"peak RSS {rss // 1024 if rss else '?'} MiB")
    return node


def search_limits(cls):
    step = Steps(cls.engine)
    with cls(settings=LIMIT_SETTINGS) as node:
        step("start with limit settings", ", ".join(f"{k}={v}" for k, v in LIMIT_SETTINGS.items()))
        status, body = node.request("GET", "/_cluster/settings?include_defaults=true"
                                    "&filter_path=**.thread_pool.write")
        write = body["defaults"]["thread_pool"]["write"] if status == 200 else {}
        status, _ = node.request("PUT", "/big/_doc/1", {"msg": "x" * 4096})
        check(status == 413, f"a 4 KiB body should get 413 with http.max_content_length=1kb, got {status}")
        step("4 KiB body refused", f"413; write pool {write.get('size')}/{write.get('queue_size')}")


def kafka_round_trip():
    step = Steps("kafka")
    with engines.KafkaBroker(partitions=2, auto_create_topics=False) as kafka:
        step("format + start", f"bootstrap {kafka.bootstrap}")
        kafka.create_topic("selftest", partitions=3)
        step("create topic (TopicCommand)")
        kafka.produce("selftest", [f"line {i}" for i in range(5)])
        step("produce 5 (ConsoleProducer)")
        check(kafka.message_count("selftest") == 5, "message_count != 5")
        step("message_count == 5 (GetOffsetShell x2)")
        got = kafka.consume("selftest", 5, timeout_ms=20000)
        check(sorted(got) == [f"line {i}" for i in range(5)], f"consumed {got}")
        step("consume 5 (ConsoleConsumer)")
        kafka.restart()
        step("restart (graceful)", f"{kafka.start_seconds:.1f}s to ready")
        check(kafka.message_count("selftest") == 5, "message_count after restart != 5")
        kafka.kill9()
        kafka.start_process()
        step("kill -9 + start", f"{kafka.start_seconds:.1f}s to ready")
        check(kafka.message_count("selftest") == 5, "message_count after kill9 != 5")
        out = kafka.producer_perf("selftest", 20000, record_size=200)
        last = [ln for ln in out.splitlines() if "records sent" in ln][-1:]
        step("ProducerPerformance 20000 x 200 B", last[0].split(",")[1].strip() if last else "")
        check(kafka.message_count("selftest") == 20005, "message_count after perf != 20005")
        rss = kafka.rss_peak_kib()
        kafka.stop()
        step("stop", f"peak RSS {rss // 1024 if rss else '?'} MiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("engines", nargs="*", default=list(fetch.ENGINES))
    ap.add_argument("--no-fetch", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"cache: {fetch.cache_dir()}  java: {fetch.java17_home()}  "
          f"load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    passed = failed = skipped = 0
    for engine in args.engines:
        if engine not in fetch.ENGINES:
            ap.error(f"unknown engine {engine}")
        if not fetch.cached(engine):
            if args.no_fetch:
                print(f"SKIP {engine}: not in the cache (python3 tests/engines/fetch.py {engine})")
                skipped += 1
                continue
            t0 = time.monotonic()
            try:
                fetch.ensure(engine)
            except fetch.FetchError as e:
                print(f"FAIL {engine}: fetch: {e}")
                failed += 1
                continue
            print(f"  {engine:13} {'fetch':42} {time.monotonic() - t0:6.1f}s")
        t0 = time.monotonic()
        try:
            if engine == "kafka":
                kafka_round_trip()
            else:
                cls = engines.OpenSearchNode if engine == "opensearch" else engines.ElasticsearchNode
                search_round_trip(cls)
                if not args.quick:
                    search_limits(cls)
        except Exception as e:  # report and go on with the next engine
            print(f"FAIL {engine} after {time.monotonic() - t0:.1f}s: {e}")
            traceback.print_exc()
            failed += 1
            continue
        print(f"PASS {engine} ({time.monotonic() - t0:.1f}s)", flush=True)
        passed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
