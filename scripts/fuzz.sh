#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — builds the libFuzzer harnesses (tests/fuzz/) with clang in
# build-fuzz/ and runs each for SECONDS (default 60) on a copy of its seed corpus. A crash
# fails the run and leaves the input in /tmp/logship-fuzz-artifacts/ (LOGSHIP_FUZZ_ARTIFACTS):
# add it to tests/fuzz/corpus/<harness>/ as a regression seed once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
echo "==== fuzz: build ($dir, clang) ===="
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DLOGSHIP_FUZZ=ON -DLOGSHIP_BUILD_TESTS=ON -DLOGSHIP_FUZZ_SECONDS="$seconds" > /dev/null
targets=(spool_segment_fuzz frame_decoder_fuzz otlp_fuzz config_fuzz line_splitter_fuzz pipeline_fuzz es_bulk_response_fuzz
         kafka_message_fuzz)
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}"
echo "==== fuzz: ${#targets[@]} harnesses × ${seconds}s ===="
ctest --test-dir "$dir" -L fuzz --output-on-failure
