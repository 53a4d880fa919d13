#!/usr/bin/env python3
"""No file of code over 450 lines, no function over 80 (README "How we write code").

Files: the C++ and Python (and shell) we write: agent/, collector/, common/, tests/, scripts/.
Functions: lizard (PyPI; scripts/install-deps.sh puts it in .cache/tools) measures each
function's length in lines, first to last. doctest's TEST_CASE macro is misread by lizard as
one function spanning several cases, so unit-test files are held to the file limit only.

Usage: scripts/check-code-size.py [--max-file-lines N] [--max-function-lines N]
Exit 0 when everything is within the limits, 1 with one line per offender otherwise.
"""
import argparse
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".cache" / "tools"
CODE = ("agent", "collector", "common", "tests", "scripts")
SUFFIXES = {".cc", ".h", ".py", ".sh", ".mjs"}
SKIP = ("node_modules", "/corpus/", "/build")


def code_files():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", *CODE],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in listed:
        p = ROOT / rel
        if p.suffix in SUFFIXES and p.is_file() and not any(s in "/" + rel for s in SKIP):
            yield rel


def long_functions(files, limit):
    sys.path.insert(0, str(TOOLS))
    try:
        import lizard  # noqa: E402
    except ImportError:
        sys.exit(f"check-code-size: lizard is missing; run scripts/install-deps.sh (it installs it in {TOOLS})")
    for rel in files:
        if rel.startswith("tests/unit/"):
            continue
        info = lizard.analyze_file(str(ROOT / rel))
        for fn in info.function_list:
            length = fn.end_line - fn.start_line + 1
            if length > limit:
                yield f"{rel}:{fn.start_line}: function {fn.name} is {length} lines (at most {limit})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-file-lines", type=int, default=450)
    ap.add_argument("--max-function-lines", type=int, default=80)
    args = ap.parse_args()
    files = sorted(code_files())
    problems = []
    for rel in files:
        n = sum(1 for _ in open(ROOT / rel, "rb"))
        if n > args.max_file_lines:
            problems.append(f"{rel}: {n} lines (at most {args.max_file_lines})")
    problems += list(long_functions(files, args.max_function_lines))
    for p in problems:
        print(p)
    print(f"check-code-size: {len(files)} files, {len(problems)} over the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
