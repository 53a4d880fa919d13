"""The fake Elasticsearch's HTTP front: routing, authentication, injected faults, and the
/_fake/* inspection API."""

import base64
import fnmatch
import gzip
import json
import re
import urllib.parse
from http.server import BaseHTTPRequestHandler

from fake_es_cluster import Cluster
from fake_es_json import error_body, filter_response, strict_json


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
