#!/usr/bin/env python3
"""Build Helm and kubeconform from the Go module proxy, and make kubeconform's Kubernetes
schemas offline, for the Helm chart's test (tests/packaging/test_helm.py).

    python3 scripts/fetch-k8s-tools.py [--status]

Everything goes to `<repo>/.cache/k8s-tools/` (git-ignored; $LOGSHIP_K8S_TOOLS_CACHE moves it):

  helm-v3.22.0/helm                    go install helm.sh/helm/v3/cmd/helm@v3.22.0
  kubeconform-v0.8.0/kubeconform       go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
  schemas-v1.30.14/v1.30.0-standalone-strict/<kind>-<group>-<version>.json
                                       from api/openapi-spec/swagger.json of the Go module
                                       k8s.io/kubernetes@v1.30.14 (go mod download), converted
                                       here (openapi2jsonschema's layout: standalone, strict)

kubeconform's own default schemas live on GitHub, which these machines cannot reach. The
Kubernetes module ships the API's OpenAPI v2 document, so the schemas are made from it:
each kind with x-kubernetes-group-version-kind becomes one self-contained JSON schema
(referenced definitions copied into it), `additionalProperties: false` on every object
that lists its properties (the "-strict" variant kubeconform's -strict selects), IntOrString
as string or integer, Quantity as string or number. `schema_location()` is the
-schema-location template.

Each finished item is marked by a `.logship-fetched` file, so a second run returns at once.
Cost, measured on the 2-core machine while a C++ build and a torture run shared it: Helm 285 s
on an empty Go build cache (200 s of CPU), 6 s when ~/.cache/go-build already holds its
packages (a fresh clone on a machine that built it before); kubeconform 7 s; schemas 5 s.
Builds use -trimpath -ldflags='-s -w -X <version>' (no symbol table or DWARF: a shorter link).
Go comes from PATH or /usr/local/go/bin; without Go, this exits 1 saying so.
Standard library only. Exit status 0 when all three are in the cache.
"""

import argparse
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent

HELM_VERSION = "v3.22.0"          # newest helm.sh/helm/v3 on the proxy (v4 is a new major)
KUBECONFORM_VERSION = "v0.8.0"
KUBERNETES_MODULE_VERSION = "v1.30.14"   # newest 1.30 patch release of k8s.io/kubernetes
KUBERNETES_VERSION = "1.30.0"     # what kubeconform is told (-kubernetes-version)

MARKER = ".logship-fetched"
# No symbol table or DWARF (a shorter link); the version each prints, as its release builds set it.
# Helm's Makefile also sets the default Kubernetes version from its client-go (v0.37 -> 1.37);
# without it `helm template` assumes 1.20. The test passes --kube-version 1.30.0 anyway.
HELM_LDFLAGS = " ".join([f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"] + [
    f"-X helm.sh/helm/v3/pkg/{pkg}.k8sVersion{part}={value}"
    for pkg in ("lint/rules", "chartutil") for part, value in (("Major", "1"), ("Minor", "37"))])
KUBECONFORM_LDFLAGS = f"-s -w -X main.version={KUBECONFORM_VERSION}"
SCHEMA_FORMAT = 1                 # bump when convert() changes: the cached schemas are made again


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("LOGSHIP_K8S_TOOLS_CACHE") or REPO / ".cache" / "k8s-tools")


def helm_path() -> pathlib.Path:
    return cache_dir() / f"helm-{HELM_VERSION}" / "helm"


def kubeconform_path() -> pathlib.Path:
    return cache_dir() / f"kubeconform-{KUBECONFORM_VERSION}" / "kubeconform"


def schema_root() -> pathlib.Path:
    return cache_dir() / f"schemas-{KUBERNETES_MODULE_VERSION}"


def schema_location() -> str:
    """kubeconform's -schema-location template for the converted schemas."""
    return str(schema_root()) + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}" \
        "/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def _done(directory: pathlib.Path, **expected) -> bool:
    """Whether directory was finished (with these marker fields, when given)."""
    try:
        marker = json.loads((directory / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return all(marker.get(k) == v for k, v in expected.items())


def available() -> bool:
    return (_done(helm_path().parent, ldflags=HELM_LDFLAGS)
            and _done(kubeconform_path().parent, ldflags=KUBECONFORM_LDFLAGS)
            and _done(schema_root(), format=SCHEMA_FORMAT))


def _log(msg):
    print(f"fetch-k8s-tools: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _lock():
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _go() -> str:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not os.access(go, os.X_OK):
        raise SystemExit("fetch-k8s-tools: no Go toolchain (go on PATH or /usr/local/go/bin/go); "
                         "Helm and kubeconform are built from the Go module proxy")
    return go


def _go_env():
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = "local"     # never download another toolchain
    env["GOFLAGS"] = "-buildvcs=false"
    env["CGO_ENABLED"] = "0"         # static binaries, no C toolchain involved
    return env


def _install(package: str, version: str, ldflags: str, target: pathlib.Path):
    """go install package@version into target's folder (a scratch folder renamed at the end)."""
    final = target.parent
    if _done(final, ldflags=ldflags):
        return
    scratch = pathlib.Path(tempfile.mkdtemp(prefix=final.name + ".", dir=cache_dir()))
    scratch.chmod(0o755)
    started = time.monotonic()
    env = _go_env()
    env["GOBIN"] = str(scratch)
    try:
        subprocess.run([_go(), "install", "-trimpath", f"-ldflags={ldflags}", f"{package}@{version}"],
                       env=env, check=True)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(scratch, ignore_errors=True)
        raise SystemExit(f"fetch-k8s-tools: go install {package}@{version} failed (exit {e.returncode})")
    if not (scratch / target.name).is_file():
        raise SystemExit(f"fetch-k8s-tools: go install {package}@{version} made no {target.name}")
    seconds = time.monotonic() - started
    (scratch / MARKER).write_text(json.dumps({"package": package, "version": version, "ldflags": ldflags,
                                              "seconds": round(seconds, 1)}) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    scratch.rename(final)
    _log(f"{target.name} {version}: built in {seconds:.0f} s")


# ------------------------------------------------------------------ OpenAPI v2 -> JSON schema

def _ref_name(ref: str) -> str:
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        raise ValueError(f"unexpected $ref {ref}")
    return ref[len(prefix):]


def _fix(node):
    """One definition made into what kubeconform's strict schemas hold (a new object)."""
    if isinstance(node, list):
        return [_fix(x) for x in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string":
        return {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    out = {k: _fix(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _refs(node, found):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):   # (JSONSchemaProps has a property named "$ref")
            found.add(_ref_name(node["$ref"]))
        for v in node.values():
            _refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found)


def convert(swagger: dict, out_dir: pathlib.Path) -> int:
    """Writes <kind>[-<group>]-<version>.json for every kind of `swagger`; returns how many."""
    definitions = {name: _fix(d) for name, d in swagger["definitions"].items()}
    quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity"
    if quantity in definitions:
        definitions[quantity] = {"oneOf": [{"type": "string"}, {"type": "number"}]}
    direct = {}
    for name, d in definitions.items():
        found = set()
        _refs(d, found)
        direct[name] = found
    count = 0
    for name, d in definitions.items():
        for gvk in swagger["definitions"][name].get("x-kubernetes-group-version-kind", []):
            group = gvk["group"].split(".")[0] if gvk["group"] else ""
            suffix = f"-{group.lower()}-{gvk['version'].lower()}" if group else f"-{gvk['version'].lower()}"
            reachable, todo = set(), list(direct[name])
            while todo:
                ref = todo.pop()
                if ref not in reachable:
                    reachable.add(ref)
                    todo.extend(direct[ref])
            schema = dict(d)
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            if reachable:
                schema["definitions"] = {r: definitions[r] for r in sorted(reachable)}
            path = out_dir / f"{gvk['kind'].lower()}{suffix}.json"
            path.write_text(json.dumps(schema, sort_keys=True))
            count += 1
    return count


def _schemas():
    final = schema_root()
    if _done(final, format=SCHEMA_FORMAT):
        return
    started = time.monotonic()
    module = f"k8s.io/kubernetes@{KUBERNETES_MODULE_VERSION}"
    env = _go_env()
    out = subprocess.run([_go(), "mod", "download", "-json", module], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    source = pathlib.Path(json.loads(out)["Dir"]) / "api" / "openapi-spec" / "swagger.json"
    swagger = json.loads(source.read_text())
    scratch = pathlib.Path(tempfile.mkdtemp(prefix=final.name + ".", dir=cache_dir()))
    scratch.chmod(0o755)
    kinds = scratch / f"v{KUBERNETES_VERSION}-standalone-strict"
    kinds.mkdir()
    count = convert(swagger, kinds)
    (scratch / MARKER).write_text(json.dumps({"module": module, "source": "api/openapi-spec/swagger.json",
                                              "format": SCHEMA_FORMAT, "kinds": count}) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    scratch.rename(final)
    _log(f"{count} schemas from {module} in {time.monotonic() - started:.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--status", action="store_true", help="say what is cached; fetch nothing")
    args = parser.parse_args()
    if args.status:
        for item, expected in ((helm_path().parent, {"ldflags": HELM_LDFLAGS}),
                               (kubeconform_path().parent, {"ldflags": KUBECONFORM_LDFLAGS}),
                               (schema_root(), {"format": SCHEMA_FORMAT})):
            print(f"{item}: {'cached' if _done(item, **expected) else 'missing'}")
        return 0 if available() else 1
    with _lock():
        _install("helm.sh/helm/v3/cmd/helm", HELM_VERSION, HELM_LDFLAGS, helm_path())
        _install("github.com/yannh/kubeconform/cmd/kubeconform", KUBECONFORM_VERSION,
                 KUBECONFORM_LDFLAGS, kubeconform_path())
        _schemas()
    return 0


if __name__ == "__main__":
    sys.exit(main())
