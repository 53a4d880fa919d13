#!/usr/bin/env python3
"""Checks the locking contracts written as GUARDED_BY/REQUIRES/EXCLUDES annotations
(common/thread/thread_annotations.h) with clang's -Wthread-safety, as errors.

Every translation unit of the agent, the collector and common that uses the annotated
Mutex (directly or through its own header) is compiled with -fsyntax-only, using the flags
the build recorded in compile_commands.json. Usage: check-thread-safety.py [build dir]
(default: build). Exit 1 when a contract is broken, 2 when the check cannot run.
"""
import concurrent.futures
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKERS = ("common/thread/mutex.h", "GUARDED_BY(", "REQUIRES(", "EXCLUDES(")
CHECKED_DIRS = ("agent/", "collector/", "common/")
# Flags gcc takes that clang does not (or warns about, which -Werror would turn fatal).
DROP = {"-Wall", "-Wextra", "-Werror", "-Wno-restrict", "-fno-semantic-interposition"}


def annotated_files():
    """Files of the checked trees that hold annotations or the annotated Mutex."""
    out = set()
    for d in CHECKED_DIRS:
        for path in (ROOT / d).rglob("*"):
            if path.suffix in (".h", ".cc") and any(m in path.read_text(errors="replace") for m in MARKERS):
                out.add(path.relative_to(ROOT).as_posix())
    return out


def uses_annotations(path: pathlib.Path, rel: str, annotated) -> bool:
    """The unit is annotated itself or includes an annotated header directly."""
    if rel in annotated:
        return True
    text = path.read_text(errors="replace")
    return any(f'#include "{h}"' in text for h in annotated if h.endswith(".h"))


def clang_command(entry, clang):
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out = [clang]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a in DROP or a == "-c" or a.startswith("-fsanitize"):
            continue
        out.append(a)
    out += ["-fsyntax-only", "-Wno-everything", "-Wthread-safety", "-Wthread-safety-beta", "-Werror=thread-safety",
            "-Werror=thread-safety-beta"]
    return out


def main():
    build = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build")
    clang = shutil.which("clang++")
    db = build / "compile_commands.json"
    if clang is None or not db.exists():
        print(f"check-thread-safety: needs clang++ and {db} (configure the build first)", file=sys.stderr)
        return 2
    annotated = annotated_files()
    jobs = []
    for entry in json.loads(db.read_text()):
        path = pathlib.Path(entry["file"]).resolve()
        try:
            rel = path.relative_to(ROOT).as_posix()
        except ValueError:
            continue
        if path.exists() and rel.startswith(CHECKED_DIRS) and uses_annotations(path, rel, annotated):
            jobs.append((rel, entry))
    if not jobs:
        print("check-thread-safety: no annotated translation unit found", file=sys.stderr)
        return 2

    def run(job):
        rel, entry = job
        r = subprocess.run(clang_command(entry, clang), cwd=entry["directory"], capture_output=True, text=True)
        return rel, r.returncode, r.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for rel, code, err in pool.map(run, sorted(jobs, key=lambda j: j[0])):
            if code != 0:
                failed += 1
                print(f"--- {rel}\n{err}", end="")
    print(f"check-thread-safety: {len(jobs)} translation units, {failed} failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
