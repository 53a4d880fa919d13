"""Helpers of test_helm.py: Helm and kubeconform from scripts/fetch-k8s-tools.py, the values a
rendering saw, and where a Secret's key is mounted in a pod."""

import importlib.util
import os
import pathlib
import subprocess

import yaml

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
CHART = SOURCE_DIR / "packaging" / "helm" / "logship"
RELEASE, NAMESPACE = "logship", "logging"


def load_fetcher():
    spec = importlib.util.spec_from_file_location("fetch_k8s_tools", SOURCE_DIR / "scripts" / "fetch-k8s-tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Tools:
    def __init__(self, fetcher, home):
        self.helm = fetcher.helm_path()
        self.kubeconform = fetcher.kubeconform_path()
        self.schema_location = fetcher.schema_location()
        self.kube_version = fetcher.KUBERNETES_VERSION
        # Helm's own cache, configuration and data go to a scratch folder, not $HOME.
        self.env = dict(os.environ, HELM_CACHE_HOME=str(home / "cache"),
                        HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))

    def run(self, cmd, expect_ok=True, stdin=None):
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=self.env, input=stdin)
        if expect_ok and r.returncode:
            raise AssertionError(f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return r

    def template(self, values_files=(), sets=(), expect_ok=True):
        cmd = [self.helm, "template", RELEASE, CHART, "--namespace", NAMESPACE,
               "--kube-version", self.kube_version]
        cmd += [a for f in values_files for a in ("--values", f)] + [a for v in sets for a in ("--set", v)]
        return self.run(cmd, expect_ok=expect_ok)


def secret_items(volume):
    """(Secret name, key, path) of every key a volume projects from a Secret."""
    sources = [{"name": volume["secret"]["secretName"], **volume["secret"]}] if "secret" in volume else \
        [src["secret"] for src in volume.get("projected", {}).get("sources", []) if "secret" in src]
    return [(src["name"], i["key"], i["path"]) for src in sources for i in src.get("items", [])]


def mounted_path(container, volumes, secret, key):
    """Where `key` of Secret `secret` appears in `container`, or None."""
    for vm in container["volumeMounts"]:
        for name, k, path in secret_items(volumes[vm["name"]]):
            if (name, k) == (secret, key):
                return f"{vm['mountPath']}/{path}"
    return None


def merged_values(values_files):
    """The values the chart saw (defaults with the files laid over), as helm computes them."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def merge(dst, src):   # null removes a key
        for k, v in src.items():
            if v is None:
                dst.pop(k, None)
            elif isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v)
            else:
                dst[k] = v
        return dst
    for f in values_files:
        merge(defaults, yaml.safe_load(pathlib.Path(f).read_text()))
    return defaults
