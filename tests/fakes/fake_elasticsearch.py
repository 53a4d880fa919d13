#!/usr/bin/env python3
"""A small Elasticsearch stand-in for logship's tests (Elasticsearch is not installable here).

It follows the documented behaviour of the parts logship uses (Elasticsearch 8 REST API):

* `POST /_bulk` and `POST /<index>/_bulk`: NDJSON action/source pairs, `Content-Encoding: gzip`
  bodies, per-item results in request order, `errors: true` when any item failed,
  `filter_path` on the response.
  - `create` of an `_id` the index already holds: item status 409
    `version_conflict_engine_exception` (nothing changes); `index` overwrites (200).
  - data streams (an index template with `data_stream: {}` matches, or Elasticsearch's
    built-in `logs-*-*` template at priority 100 when no template of higher priority does):
    only `create` is allowed (400 `illegal_argument_exception` otherwise) and `@timestamp`
    is required (400 `document_parsing_exception`).
  - mappings: the matching template's `mappings.properties`, then dynamic mapping (the first
    value of a new field fixes its type). A value that does not fit (an object where a
    keyword is mapped, a concrete value where an object is mapped, an unparseable date) is
    an item 400 (`document_parsing_exception` / `mapper_parsing_exception`); a duplicate key
    in a document is an item 400 too (Elasticsearch parses JSON with strict duplicate
    detection). A malformed action line is a whole-request 400.
  - a body over `max_content_length` (100mb by default): 413.
* `PUT /_index_template/<name>` (index_patterns required; two templates with the same
  priority and overlapping patterns are refused with 400, as Elasticsearch does),
  `PUT /_ilm/policy/<name>` (policy.phases required), `GET /`, `GET /_cluster/health`.
* Security: with `--api-key` or `--basic user:password`, every request needs the matching
  `Authorization` header, else 401 `security_exception` with `WWW-Authenticate`.

Errors injected by tests (`POST /_fake/faults`, JSON; each key optional):
  request_status: [429, 503, …]     the next bulk requests answer these statuses whole
  item_status: {"status": 429, "every": 3, "count": 100}
                                     of the next `count` items, every `every`-th fails alone
  lose_responses: n                  the next n bulk requests are applied, then answered 500
                                     (so the client re-sends documents already stored)
  malformed_responses: n             the next n bulk requests are applied, then answered
                                     with a truncated body
  poison_substring: "POISON"        documents whose message contains it get an item 400
                                     mapper_parsing_exception (a mapping conflict)
  all_status: 403                    every request answers this (null to stop)
  max_content_length: bytes          requests with a larger body (as sent, i.e. gzipped) get 413
  setup_status: 403                  template and policy PUTs answer this (null to stop)
Inspection: `GET /_fake/state` (counts, headers seen, templates, policies),
`GET /_fake/docs` (every stored document), `POST /_fake/reset_stats`.

The fake is split by concern: fake_es_json.py (strict JSON, error bodies, filter_path),
fake_es_mapping.py (mappings), fake_es_cluster.py (state and _bulk), fake_es_http.py (the
HTTP handler); this module starts it (serve(), or run it as a script).
"""

import argparse
import threading
from http.server import ThreadingHTTPServer

from fake_es_cluster import Cluster
from fake_es_http import Handler


def serve(port=0, api_key=None, basic=None):
    """Starts the fake on 127.0.0.1 in a background thread; returns (server, cluster)."""
    cluster = Cluster(api_key=api_key, basic=basic)
    handler = type("BoundHandler", (Handler,), {"cluster": cluster})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, cluster


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=9200)
    ap.add_argument("--api-key")
    ap.add_argument("--basic", help="user:password")
    args = ap.parse_args()
    server, _ = serve(args.port, args.api_key, args.basic)
    print(f"fake elasticsearch on http://127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
