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
"""

import argparse
import base64
import fnmatch
import gzip
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTIONS = ("index", "create", "update", "delete")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKey(k)
        out[k] = v
    return out


def strict_json(text):
    return json.loads(text, object_pairs_hook=_no_duplicates)


def error_body(status, etype, reason, extra=None):
    err = {"root_cause": [{"type": etype, "reason": reason}], "type": etype, "reason": reason}
    if extra:
        err.update(extra)
    return {"error": err, "status": status}


def flatten_mapping(props, prefix=""):
    """{"a": {"properties": {"b": {"type": "keyword"}}}} -> {"a": "object", "a.b": "keyword"}"""
    out = {}
    for name, spec in props.items():
        path = prefix + name
        if "properties" in spec:
            out[path] = "object"
            out.update(flatten_mapping(spec["properties"], path + "."))
        else:
            out[path] = spec.get("type", "object")
    return out


def filter_response(obj, paths):
    """Elasticsearch's filter_path: keep only the listed dotted paths (`*` matches any key).

    All paths filter in one pass, as in Elasticsearch: an array element stays when any path
    matches inside it, and elements nothing matches are left out."""
    def keep(value, paths):
        if any(not p for p in paths):
            return value
        if isinstance(value, list):
            kept = [r for r in (keep(v, paths) for v in value) if r is not _DROP]
            return kept if kept else _DROP
        if not isinstance(value, dict):
            return _DROP
        out = {}
        for k, v in value.items():
            sub = [p[1:] for p in paths if fnmatch.fnmatchcase(k, p[0])]
            if sub:
                r = keep(v, sub)
                if r is not _DROP:
                    out[k] = r
        return out if out else _DROP

    r = keep(obj, [p.split(".") for p in paths])
    return {} if r is _DROP else r


_DROP = object()


class Cluster:
    def __init__(self, api_key=None, basic=None, max_content_length=100 << 20):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.basic = basic
        self.max_content_length = max_content_length
        self.indices = {}          # name -> {"docs": {id: doc}, "mapping": {path: type}, "data_stream": bool}
        self.templates = {}
        self.policies = {}
        self.faults = {}
        self.item_counter = 0
        self.stats = {}
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"bulk_requests": 0, "gzip_requests": 0, "items": 0, "created": 0, "conflicts": 0,
                      "item_errors": 0, "request_errors": 0, "authorization": [], "content_types": [],
                      "ops": {}}

    # ---- templates and mapping ----
    def template_for(self, index):
        best = None
        for name, t in self.templates.items():
            if any(fnmatch.fnmatchcase(index, p) for p in t.get("index_patterns", [])):
                if best is None or t.get("priority", 0) > best[1].get("priority", 0):
                    best = (name, t)
        return best

    def get_index(self, name):
        idx = self.indices.get(name)
        if idx is None:
            t = self.template_for(name)
            mapping, ds = {}, False
            if t is not None and t[1].get("priority", 0) > 100:
                props = t[1].get("template", {}).get("mappings", {}).get("properties", {})
                mapping = flatten_mapping(props)
                ds = "data_stream" in t[1]
            elif fnmatch.fnmatchcase(name, "logs-*-*"):
                ds = True  # Elasticsearch's built-in logs template (priority 100)
                mapping = {"@timestamp": "date"}
            elif t is not None:
                mapping = flatten_mapping(t[1].get("template", {}).get("mappings", {}).get("properties", {}))
                ds = "data_stream" in t[1]
            idx = {"docs": {}, "mapping": mapping, "data_stream": ds, "seq": 0}
            self.indices[name] = idx
        return idx

    def check_mapping(self, idx, doc):
        """Returns None or (status, type, reason); learns dynamic fields on success."""
        mapping = idx["mapping"]
        learned = {}

        def walk(value, path):
            mapped = mapping.get(path) or learned.get(path)
            if mapped == "flattened":
                if not isinstance(value, dict):
                    return (400, "document_parsing_exception",
                            f"[1:1] failed to parse field [{path}] of type [flattened]")
                return None
            if isinstance(value, dict):
                if mapped not in (None, "object"):
                    return (400, "document_parsing_exception",
                            f"[1:1] failed to parse field [{path}] of type [{mapped}] in document. "
                            f"Preview of field's value: '{json.dumps(value)[:60]}'")
                if mapped is None:
                    learned[path] = "object"
                for k, v in value.items():
                    if k == "":
                        return (400, "document_parsing_exception", "field name cannot be an empty string")
                    # dotted keys are object paths in Elasticsearch
                    r = walk(v, f"{path}.{k}" if path else k)
                    if r:
                        return r
                return None
            if isinstance(value, list):
                for v in value:
                    r = walk(v, path)
                    if r:
                        return r
                return None
            if mapped == "object":
                return (400, "mapper_parsing_exception",
                        f"object mapping for [{path}] tried to parse field [{path.rsplit('.', 1)[-1]}] as object, "
                        "but found a concrete value")
            # a concrete value under a path whose parent is a concrete field
            parent = path
            while "." in parent:
                parent = parent.rsplit(".", 1)[0]
                ptype = mapping.get(parent) or learned.get(parent)
                if ptype not in (None, "object"):
                    return (400, "document_parsing_exception",
                            f"[1:1] Could not dynamically add mapping for field [{path}]. Existing mapping for "
                            f"[{parent}] must be of type object but found [{ptype}].")
            if mapped in ("date", "date_nanos"):
                if value is None:
                    return None
                if not (isinstance(value, (int, float)) or (isinstance(value, str) and DATE_RE.match(value))):
                    return (400, "document_parsing_exception",
                            f"[1:1] failed to parse field [{path}] of type [{mapped}] in document")
            elif mapped == "long":
                if not isinstance(value, int) and not (isinstance(value, str) and value.lstrip("-").isdigit()):
                    return (400, "document_parsing_exception",
                            f"[1:1] failed to parse field [{path}] of type [long] in document")
            elif mapped is None and value is not None:
                learned[path] = "boolean" if isinstance(value, bool) else (
                    "long" if isinstance(value, int) else "float" if isinstance(value, float) else "text")
            return None

        r = walk(doc, "")
        if r is None:
            for k, v in learned.items():
                mapping.setdefault(k, v)
        return r

    # ---- bulk ----
    def bulk(self, body, default_index):
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        else:
            return 400, error_body(400, "illegal_argument_exception",
                                   "The bulk request must be terminated by a newline [\\n]")
        items = []
        i = 0
        n = 0
        while i < len(lines):
            n += 1
            try:
                action = strict_json(lines[i])
                if not isinstance(action, dict) or len(action) != 1:
                    raise ValueError("not one action")
                op, meta = next(iter(action.items()))
                if op not in ACTIONS or not isinstance(meta, dict):
                    raise ValueError("unknown action")
            except (ValueError, UnicodeDecodeError):
                return 400, error_body(400, "illegal_argument_exception",
                                       f"Malformed action/metadata line [{i + 1}], expected START_OBJECT or "
                                       "END_OBJECT but found [VALUE_STRING]")
            source = None
            if op != "delete":
                if i + 1 >= len(lines):
                    return 400, error_body(400, "illegal_argument_exception",
                                           "The bulk request must be terminated by a newline [\\n]")
                source = lines[i + 1]
                i += 2
            else:
                i += 1
            items.append(self.apply(op, meta, source, default_index))
        errors = any("error" in next(iter(it.values())) for it in items)
        return 200, {"took": 1, "errors": errors, "items": items}

    def apply(self, op, meta, source, default_index):
        self.stats["items"] += 1
        self.stats["ops"][op] = self.stats["ops"].get(op, 0) + 1
        index = meta.get("_index", default_index)
        doc_id = meta.get("_id")

        def fail(status, etype, reason):
            self.stats["item_errors"] += 1
            return {op: {"_index": index, "_id": doc_id, "status": status,
                         "error": {"type": etype, "reason": reason, "index": index}}}

        if not index:
            return fail(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
        # injected per-item failures
        f = self.faults.get("item_status")
        if f and f.get("count", 0) > 0:
            f["count"] -= 1
            self.item_counter += 1
            if self.item_counter % max(1, f.get("every", 1)) == 0:
                status = f.get("status", 429)
                etype = "es_rejected_execution_exception" if status == 429 else "unavailable_shards_exception"
                return fail(status, etype, "injected by the fake: rejected execution of coordinating operation")
        try:
            doc = strict_json(source)
        except DuplicateKey as e:
            return fail(400, "document_parsing_exception", f"[1:1] Duplicate field '{e.args[0]}'")
        except (ValueError, UnicodeDecodeError):
            return fail(400, "document_parsing_exception", "[1:1] failed to parse")
        if not isinstance(doc, dict):
            return fail(400, "document_parsing_exception", "[1:1] failed to parse: not an object")
        poison = self.faults.get("poison_substring")
        if poison and poison in str(doc.get("message", "")):
            return fail(400, "mapper_parsing_exception",
                        "failed to parse field [labels] of type [flattened] (injected poison document)")
        idx = self.get_index(index)
        if idx["data_stream"]:
            if op != "create":
                return fail(400, "illegal_argument_exception",
                            f"only write ops with an op_type of create are allowed in data streams")
            if "@timestamp" not in doc:
                return fail(400, "document_parsing_exception",
                            "[1:1] failed to parse: data stream timestamp field [@timestamp] is missing")
        bad = self.check_mapping(idx, doc)
        if bad:
            return fail(*bad)
        if doc_id is None:
            idx["seq"] += 1
            doc_id = f"auto-{idx['seq']}"
        if doc_id in idx["docs"] and op == "create":
            self.stats["conflicts"] += 1
            return fail(409, "version_conflict_engine_exception",
                        f"[{doc_id}]: version conflict, document already exists (current version [1])")
        existed = doc_id in idx["docs"]
        idx["docs"][doc_id] = doc
        idx["seq"] += 1
        if not existed:
            self.stats["created"] += 1
        return {op: {"_index": index, "_id": doc_id, "_version": 1, "result": "updated" if existed else "created",
                     "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": idx["seq"],
                     "_primary_term": 1, "status": 200 if existed else 201}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, like Elasticsearch
    cluster: Cluster = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, obj, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        return data

    def authorized(self):
        c = self.cluster
        if not c.api_key and not c.basic:
            return True
        got = self.headers.get("Authorization", "")
        if c.api_key and got == f"ApiKey {c.api_key}":
            return True
        if c.basic and got == "Basic " + base64.b64encode(c.basic.encode()).decode():
            return True
        return False

    def handle_any(self, method):
        c = self.cluster
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        try:
            body = self.read_body()
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            return self.send_json(400, error_body(400, "parse_exception", f"bad request body: {e}"))
        if path.startswith("/_fake/"):
            return self.fake_api(method, path, body)
        with c.lock:
            c.stats["authorization"].append(self.headers.get("Authorization", ""))
            del c.stats["authorization"][:-50]
            if self.headers.get("Content-Type"):
                c.stats["content_types"].append(self.headers.get("Content-Type"))
                del c.stats["content_types"][:-50]
            if not self.authorized():
                return self.send_json(401, error_body(401, "security_exception",
                                                      f"missing authentication credentials for REST request [{path}]"),
                                      {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8", ApiKey'})
            forced = c.faults.get("all_status")
            if forced:
                return self.send_json(forced, error_body(forced, "security_exception",
                                                         f"action [{path}] is unauthorized for user [logship]"))
            if len(body) > (c.faults.get("max_content_length") or c.max_content_length):
                return self.send_json(413, None, raw=b"")
            if method == "GET" and path == "/":
                return self.send_json(200, {"name": "fake", "cluster_name": "fake",
                                            "version": {"number": "8.11.0"}, "tagline": "You Know, for Search"})
            if method == "GET" and path == "/_cluster/health":
                return self.send_json(200, {"cluster_name": "fake", "status": "green"})
            m = re.fullmatch(r"/_index_template/([^/]+)", path)
            if m and method == "PUT":
                return self.put_template(m.group(1), body)
            m = re.fullmatch(r"/_ilm/policy/([^/]+)", path)
            if m and method == "PUT":
                return self.put_policy(m.group(1), body)
            m = re.fullmatch(r"(?:/([^/_][^/]*))?/_bulk", path)
            if m and method in ("POST", "PUT"):
                return self.bulk(m.group(1), body, query)
            return self.send_json(404, error_body(404, "index_not_found_exception", f"no handler for [{path}]"))

    def put_template(self, name, body):
        c = self.cluster
        if c.faults.get("setup_status"):
            s = c.faults["setup_status"]
            return self.send_json(s, error_body(s, "security_exception",
                                                "action [indices:admin/index_template/put] is unauthorized"))
        try:
            t = strict_json(body)
            patterns = t["index_patterns"]
            assert isinstance(patterns, list) and patterns
        except (ValueError, KeyError, AssertionError, TypeError):
            return self.send_json(400, error_body(400, "action_request_validation_exception",
                                                  "Validation Failed: 1: index patterns are missing;"))
        for other_name, other in c.templates.items():
            if other_name != name and other.get("priority", 0) == t.get("priority", 0) and any(
                    fnmatch.fnmatchcase(p, q) or fnmatch.fnmatchcase(q, p)
                    for p in patterns for q in other["index_patterns"]):
                return self.send_json(400, error_body(400, "illegal_argument_exception",
                                                      f"index template [{name}] has index patterns {patterns} "
                                                      f"matching patterns from existing templates [{other_name}] "
                                                      "with the same priority"))
        c.templates[name] = t
        return self.send_json(200, {"acknowledged": True})

    def put_policy(self, name, body):
        c = self.cluster
        if c.faults.get("setup_status"):
            s = c.faults["setup_status"]
            return self.send_json(s, error_body(s, "security_exception",
                                                "action [cluster:admin/ilm/put] is unauthorized"))
        try:
            p = strict_json(body)
            assert isinstance(p["policy"]["phases"], dict)
        except (ValueError, KeyError, AssertionError, TypeError):
            return self.send_json(400, error_body(400, "x_content_parse_exception", "[1:1] [policy] failed to parse"))
        c.policies[name] = p
        return self.send_json(200, {"acknowledged": True})

    def bulk(self, index, body, query):
        c = self.cluster
        c.stats["bulk_requests"] += 1
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            c.stats["gzip_requests"] += 1
        queue = c.faults.get("request_status") or []
        if queue:
            status = queue.pop(0)
            c.stats["request_errors"] += 1
            etype = "es_rejected_execution_exception" if status == 429 else "cluster_block_exception"
            return self.send_json(status, error_body(status, etype, "injected by the fake"))
        status, result = c.bulk(body, index)
        if c.faults.get("lose_responses", 0) > 0:
            c.faults["lose_responses"] -= 1
            return self.send_json(500, error_body(500, "node_disconnected_exception",
                                                  "injected by the fake: applied, answer lost"))
        if c.faults.get("malformed_responses", 0) > 0:
            c.faults["malformed_responses"] -= 1
            raw = json.dumps(result).encode()
            return self.send_json(200, None, raw=raw[: max(1, len(raw) // 2)])
        if "filter_path" in query and status == 200:
            result = filter_response(result, ",".join(query["filter_path"]).split(","))
        return self.send_json(status, result)

    def fake_api(self, method, path, body):
        c = self.cluster
        with c.lock:
            if path == "/_fake/faults" and method == "POST":
                c.faults.update(json.loads(body or b"{}"))
                c.faults = {k: v for k, v in c.faults.items() if v is not None}
                return self.send_json(200, {"faults": c.faults})
            if path == "/_fake/state":
                return self.send_json(200, {
                    "indices": {n: len(i["docs"]) for n, i in c.indices.items()},
                    "data_streams": [n for n, i in c.indices.items() if i["data_stream"]],
                    "docs": sum(len(i["docs"]) for i in c.indices.values()),
                    "templates": c.templates, "policies": c.policies, "faults": c.faults, **c.stats})
            if path == "/_fake/docs":
                return self.send_json(200, {n: list(i["docs"].values()) for n, i in c.indices.items()})
            if path == "/_fake/ids":
                return self.send_json(200, {n: list(i["docs"].keys()) for n, i in c.indices.items()})
            if path == "/_fake/reset_stats":
                c.reset_stats()
                return self.send_json(200, {})
        return self.send_json(404, {"error": "unknown fake endpoint"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_HEAD(self):
        self.handle_any("HEAD")


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
