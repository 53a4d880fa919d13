#!/usr/bin/env bash
# Build logship and run its tests: a release tree (all tests), an ASan/UBSan tree (unit
# tests only), and the libFuzzer harnesses (a short run each; scripts/fuzz.sh for longer).
#
# Environment:
#   BUILD_DIR=dir           release build tree (default: build)
#   LOGSHIP_SKIP_ASAN=1     skip the sanitizer tree
#   LOGSHIP_SKIP_FUZZ=1     skip the fuzzers; LOGSHIP_FUZZ_SECONDS=n per harness (default 15)
#   LOGSHIP_TEST_REGEX=re   only run tests matching re (ctest -R) in both trees
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
ASAN_DIR=build-asan
JOBS=$(nproc)

CTEST_FILTER=()
if [[ -n "${LOGSHIP_TEST_REGEX:-}" ]]; then
  CTEST_FILTER=(-R "$LOGSHIP_TEST_REGEX")
fi

banner() {
  printf '\n==== %s ====\n' "$*"
}

banner "dependencies"
bash scripts/install-deps.sh

banner "configure + build: $BUILD_DIR (RelWithDebInfo)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGSHIP_BUILD_TESTS=ON
cmake --build "$BUILD_DIR" -j"$JOBS"

banner "tests: $BUILD_DIR"
# Two at a time on two cores: most tests wait on the processes they start; the heavy ones hold
# RESOURCE_LOCK heavy (tests/CMakeLists.txt) and never run beside each other.
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 -j"$JOBS" "${CTEST_FILTER[@]}"

if [[ "${LOGSHIP_SKIP_ASAN:-0}" == 1 ]]; then
  banner "sanitizers: skipped (LOGSHIP_SKIP_ASAN=1)"
else
  banner "configure + build: $ASAN_DIR (Debug, sanitizers)"
  cmake -S . -B "$ASAN_DIR" -DCMAKE_BUILD_TYPE=Debug -DLOGSHIP_SANITIZE=ON -DLOGSHIP_BUILD_TESTS=ON
  cmake --build "$ASAN_DIR" -j"$JOBS" --target unit_tests

  banner "unit tests: $ASAN_DIR"
  ctest --test-dir "$ASAN_DIR" -L unit --output-on-failure "${CTEST_FILTER[@]}"
fi

if [[ "${LOGSHIP_SKIP_FUZZ:-0}" == 1 || -n "${LOGSHIP_TEST_REGEX:-}" ]]; then
  banner "fuzzing: skipped"
else
  bash scripts/fuzz.sh "${LOGSHIP_FUZZ_SECONDS:-15}"
fi

banner "all tests passed"
