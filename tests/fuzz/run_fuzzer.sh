#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEED_CORPUS SECONDS [MAX_LEN] — runs one harness on a scratch copy of its seed
# corpus (the checked-in seeds stay small) and fails on any crash, leak or timeout. A
# crashing input is kept in $LOGSHIP_FUZZ_ARTIFACTS (default /tmp/logship-fuzz-artifacts).
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3 max_len=${4:-65536}
work=$(mktemp -d /tmp/logship-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=${LOGSHIP_FUZZ_ARTIFACTS:-/tmp/logship-fuzz-artifacts}
mkdir -p "$work/corpus" "$artifacts"
cp -r "$seeds"/. "$work/corpus/" 2>/dev/null || true
exec "$fuzzer" "$work/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$fuzzer")-"
