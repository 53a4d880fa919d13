"""The fake Elasticsearch's JSON: strict parsing (duplicate keys refused), error bodies, and
filter_path on responses."""

import fnmatch
import json


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
