#!/usr/bin/env python3
"""Download and cache real search engines and a Kafka broker for tests, from Maven Central.

    python3 tests/engines/fetch.py [opensearch|elasticsearch|kafka|all ...] [--status]

Everything goes to `<repo>/.cache/engines/` (or $LOGSHIP_ENGINES_CACHE) and is fetched with
`mvn` only, so a fresh machine needs nothing but OpenJDK 17 and Maven (an empty ~/.m2 is fine).
A finished engine is marked by `<dir>/.logship-fetched.json`; a second run skips it. Versions
can be overridden: LOGSHIP_OPENSEARCH_VERSION, LOGSHIP_ELASTICSEARCH_VERSION,
LOGSHIP_KAFKA_VERSION (a changed version is a new directory beside the old one).

What is fetched (see README.md):
  org.opensearch.distribution.integ-test-zip:opensearch:2.19.6:zip          -> opensearch-2.19.6/
    + org.opensearch.plugin:opensearch-job-scheduler:2.19.6.0:zip and
      org.opensearch.plugin:opensearch-index-management:2.19.6.0:zip (ISM) when both resolve
  org.elasticsearch.distribution.integ-test-zip:elasticsearch:8.19.21:zip   -> elasticsearch-8.19.21/
  org.apache.kafka:kafka_2.13 + kafka-tools 4.4.0 + log4j2 (kafka/pom.xml)  -> kafka-4.4.0/libs/

Standard library only. Exit status 0 when every requested engine is in the cache.
"""

import argparse
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

OPENSEARCH_VERSION = os.environ.get("LOGSHIP_OPENSEARCH_VERSION", "2.19.6")
ELASTICSEARCH_VERSION = os.environ.get("LOGSHIP_ELASTICSEARCH_VERSION", "8.19.21")
KAFKA_VERSION = os.environ.get("LOGSHIP_KAFKA_VERSION", "4.4.0")

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
MARKER = ".logship-fetched.json"
ENGINES = ("opensearch", "elasticsearch", "kafka")


class FetchError(RuntimeError):
    """An engine could not be downloaded or unpacked (message says why and what to do)."""


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("LOGSHIP_ENGINES_CACHE") or REPO / ".cache" / "engines")


def maven_repo():
    """The Maven local repository used for fetching: <cache>/m2 by default, so that removing
    the cache removes everything; LOGSHIP_ENGINES_M2=path to share one (empty: Maven's own,
    usually ~/.m2/repository)."""
    value = os.environ.get("LOGSHIP_ENGINES_M2")
    if value is None:
        return cache_dir() / "m2"
    return pathlib.Path(value).expanduser() if value else None


def java17_home():
    """A JDK 17 home (the search engines and Kafka 4 brokers run on it), or None."""
    for cand in (os.environ.get("LOGSHIP_ENGINES_JAVA_HOME"),
                 "/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/java-17-openjdk-arm64",
                 "/usr/lib/jvm/java-17-openjdk"):
        if cand and os.access(os.path.join(cand, "bin", "java"), os.X_OK):
            return cand
    return None


def opensearch_coords(version=OPENSEARCH_VERSION):
    return f"org.opensearch.distribution.integ-test-zip:opensearch:{version}:zip"


def opensearch_plugin_coords(version=OPENSEARCH_VERSION):
    # Plugins carry the engine version plus a fourth number; job-scheduler first (ISM extends it).
    return [f"org.opensearch.plugin:opensearch-job-scheduler:{version}.0:zip",
            f"org.opensearch.plugin:opensearch-index-management:{version}.0:zip"]


def elasticsearch_coords(version=ELASTICSEARCH_VERSION):
    return f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


def home(engine) -> pathlib.Path:
    """Where `engine` lives in the cache (whether or not it was fetched)."""
    version = {"opensearch": OPENSEARCH_VERSION, "elasticsearch": ELASTICSEARCH_VERSION,
               "kafka": KAFKA_VERSION}[engine]
    return cache_dir() / f"{engine}-{version}"


def cached(engine):
    """The fetch record (dict) of a complete cached engine, or None."""
    try:
        return json.loads((home(engine) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def _log(msg):
    print(f"fetch: {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _lock():
    """One fetch at a time per cache (parallel test runs share it)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _mvn(args, cwd, what):
    """Run Maven in batch mode; raise FetchError with its [ERROR] lines on failure."""
    mvn = shutil.which("mvn")
    if not mvn:
        raise FetchError("`mvn` not found: install Maven (apt-get install maven) and OpenJDK 17")
    env = dict(os.environ)
    jhome = java17_home()
    if jhome and not env.get("JAVA_HOME"):
        env["JAVA_HOME"] = jhome
    repo = maven_repo()
    cmd = [mvn, "-B", "-ntp", *([f"-Dmaven.repo.local={repo}"] if repo else []), *args]
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        lines = r.stdout.splitlines()
        noise = ("[Help", "To see the full", "Re-run Maven", "For more information")
        errors = [ln for ln in lines if ln.startswith("[ERROR]") and ln.strip() != "[ERROR]"
                  and not ln[8:].startswith(noise)][:6]
        detail = "\n".join(errors or lines[-20:])
        raise FetchError(f"{what}: mvn failed (exit {r.returncode})\n  {' '.join(cmd)}\n{detail}")
    return r.stdout


def _copy_artifact(coords, dest_dir, scratch):
    """`mvn dependency:copy` one artifact into dest_dir; returns its path."""
    _mvn([f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={coords}",
          f"-DoutputDirectory={dest_dir}", "-Dmdep.overWriteReleases=true"],
         cwd=scratch, what=coords)
    group, artifact, version, ext = coords.split(":")
    path = pathlib.Path(dest_dir) / f"{artifact}-{version}.{ext}"
    if not path.is_file():
        raise FetchError(f"{coords}: mvn succeeded but {path} is missing")
    return path


def _unzip(zip_path, dest):
    """Extract keeping the Unix permission bits (zipfile alone drops them)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            out = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not info.is_dir():
                os.chmod(out, mode)


def _readable_by_all(root):
    """The engines run as an unprivileged user: make the tree readable (and dirs traversable)."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o755)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                m = os.stat(p).st_mode
                os.chmod(p, m | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
                         | (0o111 if m & stat.S_IXUSR else 0))


def _finish(tmp_home, final_home, record):
    _readable_by_all(tmp_home)
    (tmp_home / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    if final_home.exists():  # an incomplete earlier attempt
        shutil.rmtree(final_home)
    os.rename(tmp_home, final_home)
    # Every parent must be traversable by the engines' user (e.g. a cache under /root).
    for parent in [final_home.parent, *final_home.parent.parents]:
        if parent == pathlib.Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            _log(f"warning: {parent} is not traversable by other users; "
                 "search engines run unprivileged and need it (chmod o+x)")
            break


def _fetch_zip_engine(engine, coords, top_name, extra=None):
    final = home(engine)
    root = cache_dir()
    with tempfile.TemporaryDirectory(prefix=f".{engine}-", dir=root) as scratch:
        scratch = pathlib.Path(scratch)
        t0 = time.monotonic()
        _log(f"downloading {coords}")
        zip_path = _copy_artifact(coords, scratch / "dl", scratch)
        _log(f"unpacking {zip_path.name} ({zip_path.stat().st_size >> 20} MiB)")
        _unzip(zip_path, scratch / "x")
        tmp_home = scratch / "x" / top_name
        if not (tmp_home / "bin").is_dir():
            raise FetchError(f"{coords}: unexpected archive layout (no {top_name}/bin)")
        record = {"engine": engine, "artifact": coords, "fetched_at": time.strftime("%FT%TZ", time.gmtime())}
        if extra:
            extra(tmp_home, scratch, record)
        record["seconds"] = round(time.monotonic() - t0, 1)
        _finish(tmp_home, final, record)
    _drop_from_private_repo(coords)
    return final


def _drop_from_private_repo(coords):
    """The unpacked copy is what we use: delete the zip from our own Maven repository
    (never from a shared one) to halve the disk cost."""
    repo = maven_repo()
    if repo is None or repo != cache_dir() / "m2":
        return
    group, artifact, version, _ = coords.split(":")
    shutil.rmtree(repo.joinpath(*group.split("."), artifact, version), ignore_errors=True)


def _install_opensearch_plugins(tmp_home, scratch, record):
    """Try job-scheduler + index-management (ISM). Missing plugins are recorded, not fatal."""
    zips, errors = [], []
    for coords in opensearch_plugin_coords():
        try:
            zips.append((coords, _copy_artifact(coords, scratch / "plugins", scratch)))
        except FetchError as e:
            why = str(e).splitlines()[2].split(" -> [Help")[0]
            why = why.split("Unable to find/resolve artifact. ")[-1]
            errors.append(f"{coords}: {why[:240]}")
    record["plugins"] = []
    if errors:
        # ISM without job-scheduler (or the reverse) is useless: install neither.
        record["plugins_skipped"] = errors
        _log("OpenSearch ISM plugins not installed (not served): " + "; ".join(errors))
        return
    env = dict(os.environ, OPENSEARCH_JAVA_HOME=java17_home() or "", JAVA_HOME=java17_home() or "")
    for coords, path in zips:
        r = subprocess.run([str(tmp_home / "bin" / "opensearch-plugin"), "install", "--batch",
                            path.resolve().as_uri()], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            raise FetchError(f"opensearch-plugin install {path.name} failed:\n{r.stdout[-2000:]}")
        record["plugins"].append(coords)
    _log("installed OpenSearch plugins: " + ", ".join(c for c, _ in zips))


def fetch_opensearch():
    return _fetch_zip_engine("opensearch", opensearch_coords(), f"opensearch-{OPENSEARCH_VERSION}",
                             _install_opensearch_plugins)


def fetch_elasticsearch():
    return _fetch_zip_engine("elasticsearch", elasticsearch_coords(),
                             f"elasticsearch-{ELASTICSEARCH_VERSION}")


def fetch_kafka():
    final = home("kafka")
    root = cache_dir()
    with tempfile.TemporaryDirectory(prefix=".kafka-", dir=root) as scratch:
        scratch = pathlib.Path(scratch)
        t0 = time.monotonic()
        tmp_home = scratch / "kafka"
        libs = tmp_home / "libs"
        _log(f"downloading org.apache.kafka:kafka_2.13:{KAFKA_VERSION} + kafka-tools + log4j2 "
             "(mvn dependency:copy-dependencies)")
        _mvn(["-f", str(HERE / "kafka" / "pom.xml"), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
              f"-Dkafka.version={KAFKA_VERSION}", f"-DoutputDirectory={libs}"],
             cwd=scratch, what=f"Kafka {KAFKA_VERSION}")
        jars = sorted(p.name for p in libs.glob("*.jar"))
        if f"kafka_2.13-{KAFKA_VERSION}.jar" not in jars:
            raise FetchError(f"Kafka {KAFKA_VERSION}: kafka_2.13 jar missing from {libs}")
        (tmp_home / "config").mkdir()
        shutil.copy(HERE / "kafka" / "log4j2.properties", tmp_home / "config" / "log4j2.properties")
        record = {"engine": "kafka", "artifact": f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
                  "pom": "tests/engines/kafka/pom.xml", "jars": jars,
                  "fetched_at": time.strftime("%FT%TZ", time.gmtime()),
                  "seconds": round(time.monotonic() - t0, 1)}
        _finish(tmp_home, final, record)
    return final


_FETCHERS = {"opensearch": fetch_opensearch, "elasticsearch": fetch_elasticsearch,
             "kafka": fetch_kafka}


def ensure(engine) -> pathlib.Path:
    """The engine's cached home, fetching it first if needed. Raises FetchError."""
    if cached(engine):
        return home(engine)
    with _lock():
        if cached(engine):  # another process fetched it while we waited
            return home(engine)
        return _FETCHERS[engine]()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("engines", nargs="*", default=["all"],
                    help="opensearch, elasticsearch, kafka or all (default)")
    ap.add_argument("--status", action="store_true", help="only show what is cached")
    args = ap.parse_args(argv)
    wanted = []
    for name in args.engines:
        if name == "all":
            wanted.extend(ENGINES)
        elif name in ENGINES:
            wanted.append(name)
        else:
            ap.error(f"unknown engine {name!r} (choose from {', '.join(ENGINES)}, all)")
    wanted = list(dict.fromkeys(wanted))
    failed = 0
    for engine in wanted:
        if args.status:
            rec = cached(engine)
            print(f"{engine:14} {'cached' if rec else 'missing':8} {home(engine)}")
            failed += rec is None
            continue
        t0 = time.monotonic()
        was_cached = cached(engine) is not None
        try:
            path = ensure(engine)
        except FetchError as e:
            print(f"fetch: {engine}: FAILED: {e}", file=sys.stderr)
            failed += 1
            continue
        note = "already cached" if was_cached else f"fetched in {time.monotonic() - t0:.1f}s"
        print(f"{engine:14} {note:22} {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
