"""OpenSearch and Elasticsearch single-node clusters (integration-test distributions)."""

import json
import os
import re
import shutil
import urllib.error
import urllib.request

import fetch
import harness
from engine_process import Engine, chown_tree, engine_home, engine_user, start_timeout
from harness import HarnessError, free_port

class SearchNode(Engine):
    engine = None        # "opensearch" / "elasticsearch" (fetch.py name)
    env_prefix = None    # OPENSEARCH / ES
    config_file = None

    def __init__(self, settings=None, heap="512m", gc="serial", timeout=None, fetch=True,
                 jvm_options=()):
        """settings: extra node settings (flat dotted keys; value None removes a default).
        heap: -Xms/-Xmx. gc: "serial" (light on 2 cores) or None for the distribution's G1.
        timeout: seconds to wait for yellow health (default LOGSHIP_ENGINE_START_TIMEOUT or 240).
        fetch: download into the cache if missing (else raise HarnessError)."""
        super().__init__()
        self.extra_settings = dict(settings or {})
        self.heap = heap
        self.gc = gc
        self.jvm_options = list(jvm_options)
        self.timeout = timeout if timeout is not None else start_timeout()
        self.home = engine_home(self.engine, fetch)
        self.http_port = None
        self.transport_port = None
        self.url = None
        self.version = None
        self.distribution = None
        self.info = None

    def _base_settings(self):
        return {
            "cluster.name": f"logship-test-{self.engine}",
            "node.name": "node-1",
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "http.port": self.http_port,
            "transport.port": self.transport_port,
            "path.data": str(self.tmpdir / "data"),
            "path.logs": str(self.tmpdir / "logs"),
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
        }

    def settings(self):
        merged = {**self._base_settings(), **self.extra_settings}
        return {k: v for k, v in merged.items() if v is not None}

    def _prepare(self):
        self.http_port, self.transport_port = free_port(), free_port()
        while self.transport_port == self.http_port:
            self.transport_port = free_port()
        conf = self.tmpdir / "config"
        if not conf.exists():
            shutil.copytree(self.home / "config", conf)
            for d in ("data", "logs", "tmp"):
                (self.tmpdir / d).mkdir()
        yml = "".join(f"{k}: {json.dumps(v)}\n" for k, v in self.settings().items())
        (conf / self.config_file).write_text("# written by tests/engines/engines.py\n" + yml)
        (conf / "jvm.options").write_text(self._jvm_options())
        self.url = f"http://127.0.0.1:{self.http_port}"
        if os.geteuid() == 0:
            uid, gid, _ = engine_user()
            chown_tree(self.tmpdir, uid, gid)

    def _reset_for_retry(self):
        shutil.rmtree(self.tmpdir / "data", ignore_errors=True)
        (self.tmpdir / "data").mkdir()

    def _jvm_options(self):
        """The distribution's jvm.options without heap, GC and GC-log lines, plus ours."""
        keep = []
        for line in (self.home / "config" / "jvm.options").read_text().splitlines():
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            opt = s.split(":", 1)[1] if re.match(r"^\d+(-\d*)?:", s) else s
            if opt.startswith(("-Xms", "-Xmx", "-Xlog:gc", "-Xloggc", "-XX:+PrintGC",
                               "-XX:+PrintTenuring", "-XX:+UseGCLogFileRotation",
                               "-XX:NumberOfGCLogFiles", "-XX:GCLogFileSize")):
                continue
            if self.gc and re.search(r"G1|CMS|ConcMarkSweep|InitiatingHeapOccupancy", opt):
                continue
            keep.append(s)
        ours = [f"-Xms{self.heap}", f"-Xmx{self.heap}"]
        if self.gc == "serial":
            ours.append("-XX:+UseSerialGC")
        # No heap dumps (GBs in /tmp) and no /tmp/hsperfdata_<user> files.
        ours += ["-XX:-HeapDumpOnOutOfMemoryError", "-XX:-UsePerfData", *self.jvm_options]
        keep = [k for k in keep if "HeapDumpOnOutOfMemoryError" not in k]
        return "# written by tests/engines/engines.py\n" + "\n".join(keep + ours) + "\n"

    def _command(self):
        java_home = fetch.java17_home()
        p = self.env_prefix
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.tmpdir),
            "LANG": "C.UTF-8",
            f"{p}_JAVA_HOME": java_home,
            f"{p}_PATH_CONF": str(self.tmpdir / "config"),
            f"{p}_TMPDIR": str(self.tmpdir / "tmp"),
        }
        env.update(self._extra_env())
        argv = [str(self.home / "bin" / self.engine)]
        if os.geteuid() == 0:
            uid, gid, _ = engine_user()
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"] + argv
        return argv, env, str(self.tmpdir)

    def _extra_env(self):
        # Elasticsearch's launcher JVM (opensearch has none): no /tmp/hsperfdata_<user>.
        return {"CLI_JAVA_OPTS": "-XX:-UsePerfData"}

    def _ready(self):
        status, body = self.request("GET", "/_cluster/health?wait_for_status=yellow&timeout=2s",
                                    timeout=5)
        if status != 200 or body.get("status") not in ("yellow", "green"):
            return False
        status, info = self.request("GET", "/", timeout=5)
        if status == 200:
            self.info = info
            self.version = info["version"]["number"]
            self.distribution = info["version"].get("distribution", "elasticsearch")
            return True
        # Elasticsearch 8's integ-test zip lacks the rest-root module: GET / is a 405 there.
        status, nodes = self.request("GET", "/_nodes/_local?filter_path=nodes.*.version",
                                     timeout=5)
        if status != 200:
            return False
        self.info = None
        self.version = next(iter(nodes["nodes"].values()))["version"]
        self.distribution = self.engine
        return True

    def _log_tail(self, n=40):
        """The console log, or the engine's own log file when that says more."""
        out = super()._log_tail(n)
        if self.tmpdir:
            for f in sorted((self.tmpdir / "logs").glob("*.log")):
                if re.search(r"(deprecation|slowlog|task_detailslog|audit|gc)\.log$", f.name) \
                        or f.stat().st_size == 0:
                    continue
                out += f"\n--- {f.name} tail ---\n" + harness._tail(f, n)
        return out

    # -- HTTP ---------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30):
        """HTTP request to the node. body: dict/list (sent as JSON), str/bytes (sent as is;
        NDJSON when the path is a _bulk/_msearch one). Returns (status, parsed JSON or text)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            else:
                data = body.encode() if isinstance(body, str) else body
                bulk = re.search(r"/_(bulk|msearch)\b", path)
                hdrs.setdefault("Content-Type",
                                "application/x-ndjson" if bulk else "application/json")
        if not path.startswith("/"):
            path = "/" + path
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def refresh(self, index="_all"):
        return self.request("POST", f"/{index}/_refresh")

    def count(self, index, query=None):
        """Number of documents in index (refreshed first)."""
        self.refresh(index)
        status, body = self.request("POST", f"/{index}/_count",
                                    {"query": query} if query else None)
        if status != 200:
            raise HarnessError(f"_count on {index} failed ({status}): {body}")
        return body["count"]

    def plugins(self):
        status, body = self.request("GET", "/_cat/plugins?format=json")
        return sorted({p["component"] for p in body}) if status == 200 else []


class OpenSearchNode(SearchNode):
    """A single-node OpenSearch 2.19 (integration-test distribution: core + transport-netty4,
    plus the ISM plugins when fetch.py could install them)."""

    name = "opensearch"
    engine = "opensearch"
    env_prefix = "OPENSEARCH"
    config_file = "opensearch.yml"

    def _base_settings(self):
        s = super()._base_settings()
        if (self.home / "plugins" / "opensearch-security").exists():
            s["plugins.security.disabled"] = True
        return s


class ElasticsearchNode(SearchNode):
    """A single-node Elasticsearch 8 (integration-test distribution: core, transport-netty4,
    x-pack-core, x-pack-security (disabled here), apm). Missing modules, so missing APIs:
    GET / (405: rest-root), _ilm/* (400), _data_stream/* (data streams themselves work, made
    by an index template on first write), ingest processors, ML, painless."""

    name = "elasticsearch"
    engine = "elasticsearch"
    env_prefix = "ES"
    config_file = "elasticsearch.yml"

    def _base_settings(self):
        s = super()._base_settings()
        s["xpack.security.enabled"] = False
        return s
