"""The fake Elasticsearch's state: indices (documents, mapping, data stream or not), index
templates, ILM policies, injected faults and statistics; _bulk applied item by item."""

import fnmatch
import threading

from fake_es_json import DuplicateKey, error_body, strict_json
from fake_es_mapping import check_mapping, flatten_mapping

ACTIONS = ("index", "create", "update", "delete")


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
        bad = check_mapping(idx["mapping"], doc)
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
