"""Real OpenSearch / Elasticsearch nodes and a real Kafka broker for tests, demos and benchmarks.

    import sys; sys.path.insert(0, "<repo>/tests/engines")
    import engines

    with engines.OpenSearchNode(settings={"thread_pool.write.queue_size": 1}) as es:
        status, body = es.request("PUT", "/logs-1/_doc/1?refresh=true", {"msg": "hi"})
        print(es.url, es.version, es.distribution)

    with engines.ElasticsearchNode() as es: ...

    with engines.KafkaBroker(partitions=3) as kafka:
        kafka.create_topic("logs", partitions=3)
        kafka.produce("logs", ["a", "b"])
        assert kafka.message_count("logs") == 2

Each engine runs on free 127.0.0.1 ports in a fresh temp directory, which is removed at
stop(); whatever is still running at interpreter exit is stopped and removed too, even when a
test fails (LOGSHIP_KEEP_TMP=1 keeps the directories). The binaries come from the cache that
tests/engines/fetch.py fills (fetched on first use unless fetch=False). Search engines refuse
to run as root, so as root they run as the system user `logship-engines` (created on demand;
`nobody` if that fails). Standard library only.

The engines are defined in search_nodes.py (OpenSearchNode, ElasticsearchNode) and
kafka_broker.py (KafkaBroker), on the life cycle in engine_process.py; import this module.

Environment: LOGSHIP_ENGINES_CACHE (cache folder), LOGSHIP_ENGINE_START_TIMEOUT (seconds,
default 240), LOGSHIP_ENGINES_JAVA_HOME (a JDK 17+; default Debian's OpenJDK 17),
LOGSHIP_{OPENSEARCH,ELASTICSEARCH,KAFKA}_VERSION (see fetch.py).
"""

import json
import sys
import time

# engine_process puts tests/engines and tests/integration on sys.path (fetch, harness).
from engine_process import available, engine_user, fetch_java, start_timeout
from harness import HarnessError, free_port, wait_until
from kafka_broker import KafkaBroker
from search_nodes import ElasticsearchNode, OpenSearchNode

import fetch  # noqa: E402  (after engine_process: found on the path it sets)
import harness  # noqa: E402

__all__ = ["OpenSearchNode", "ElasticsearchNode", "KafkaBroker", "available", "start_timeout", "engine_user",
           "fetch_java", "HarnessError", "free_port", "wait_until", "fetch", "harness", "main"]


def main(argv=None):
    """Run one engine in the foreground until Ctrl-C / SIGTERM (for demos and benchmarks):

        python3 tests/engines/engines.py opensearch|elasticsearch|kafka [--set KEY=VALUE ...]
                 [--heap 512m] [--seconds N]

    Prints one line `READY url=http://127.0.0.1:PORT version=... pid=...` (search engines) or
    `READY bootstrap=127.0.0.1:PORT ...` (Kafka) when the engine is ready, then waits."""
    import argparse
    import signal

    ap = argparse.ArgumentParser(description=main.__doc__.split("\n\n")[0])
    ap.add_argument("engine", choices=["opensearch", "elasticsearch", "kafka"])
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="extra node setting (search engines) or server property (Kafka)")
    ap.add_argument("--heap", help="JVM heap (default 512m for search engines, 256m for Kafka)")
    ap.add_argument("--partitions", type=int, default=1, help="Kafka num.partitions")
    ap.add_argument("--seconds", type=float, help="stop after this many seconds")
    args = ap.parse_args(argv)
    settings = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set wants KEY=VALUE, got {item!r}")
        try:
            settings[key] = json.loads(value)  # numbers, booleans; anything else stays text
        except ValueError:
            settings[key] = value
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    kwargs = {"settings": settings}
    if args.heap:
        kwargs["heap"] = args.heap
    if args.engine == "kafka":
        engine = KafkaBroker(partitions=args.partitions, **kwargs)
    else:
        engine = (OpenSearchNode if args.engine == "opensearch" else ElasticsearchNode)(**kwargs)
    try:
        with engine:
            if args.engine == "kafka":
                where = f"bootstrap={engine.bootstrap}"
            else:
                where = f"url={engine.url} version={engine.version}"
            print(f"READY {where} pid={engine.proc.pid} start_seconds={engine.start_seconds:.1f} "
                  f"dir={engine.tmpdir}", flush=True)
            deadline = time.monotonic() + args.seconds if args.seconds else None
            while engine.alive() and (deadline is None or time.monotonic() < deadline):
                time.sleep(0.5)
            if not engine.alive():
                print(f"{args.engine} exited\n{engine._log_tail()}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    except HarnessError as e:
        print(f"engines: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
