"""The fake Elasticsearch's mappings: a template's properties flattened to {path: type}, and a
document checked against them (dynamic mapping: the first value of a new field fixes its type)."""

import json
import re

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")


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


def check_mapping(mapping, doc):
    """Returns None or (status, type, reason); learns dynamic fields on success (added to
    mapping, an index's {path: type})."""
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
