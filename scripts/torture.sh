#!/bin/sh
# Long torture runs (tests/torture/README.md): N seeds, or as many as fit in M minutes.
#
#   scripts/torture.sh --seeds 20 --minutes 60 [--bin-dir build] [--steps K] [--first-seed S] [--keep]
#                      [--without KIND,...] [--with-opensearch]
#
# Seeds are consecutive from --first-seed (default: random). Stops after N seeds or once M
# minutes have passed (a seed that has started finishes), whichever comes first; without
# --seeds it runs until the time is up, without --minutes it runs N seeds. Prints one report
# per seed (full details for failures: replay command, steps, lost and duplicated lines, log
# paths) and ends with
#   seeds: X, passed: Y, failed: Z, hours: H, lost lines: L, duplicated lines: D
# Exit 0 when every seed passed.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=build
count=""
minutes=""
steps=""
first=""
keep=""
without=""
search=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) count=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        --bin-dir) bin_dir=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --first-seed) first=$2; shift 2 ;;
        --keep) keep=--keep; shift ;;
        --without) without=$2; shift 2 ;;
        --with-opensearch) search=--with-opensearch; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "torture.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$count" ] && [ -z "$minutes" ]; then
    echo "torture.sh: give --seeds N and/or --minutes M" >&2
    exit 2
fi
case "$bin_dir" in /*) ;; *) bin_dir="$repo/$bin_dir" ;; esac

set -- --bin-dir "$bin_dir"
[ -n "$count" ] && set -- "$@" --count "$count"
[ -n "$minutes" ] && set -- "$@" --minutes "$minutes"
[ -n "$steps" ] && set -- "$@" --steps "$steps"
[ -n "$first" ] && set -- "$@" --seed "$first"
[ -n "$keep" ] && set -- "$@" "$keep"
[ -n "$without" ] && set -- "$@" --without "$without"
[ -n "$search" ] && set -- "$@" "$search"
exec /usr/bin/python3 "$repo/tests/torture/torture.py" "$@"
