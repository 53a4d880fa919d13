#!/usr/bin/env bash
# Make the OpenTelemetry example clients runnable, in the git-ignored .cache/ (called by
# scripts/install-deps.sh; tests/integration/test_otel_clients.py runs them):
#   .cache/venv-otel              a venv with examples/python/requirements.txt (from PyPI)
#   .cache/otel-examples/payments examples/go built with the Go toolchain (modules pinned by go.sum)
# Each step is skipped when its inputs have not changed since it last ran (a stamp of their
# hash), so a second run costs a few milliseconds.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$REPO/.cache"
mkdir -p "$CACHE/otel-examples"

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Python: a venv of Debian's python3 (the integration tests' interpreter), pinned packages.
VENV="$CACHE/venv-otel"
want=$(stamp_of "$REPO/examples/python/requirements.txt")
if [[ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" || ! -x "$VENV/bin/python" ]]; then
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REPO/examples/python/requirements.txt"
  echo "$want" >"$VENV/.stamp"
  echo "examples: OpenTelemetry Python SDK in $VENV"
fi

# Go: the toolchain from PATH or /usr/local/go (Debian 12's golang is too old for the SDK).
GO=$(command -v go || echo /usr/local/go/bin/go)
OUT="$CACHE/otel-examples/payments"
want=$(cd "$REPO/examples/go" && stamp_of go.mod go.sum ./*.go)
if [[ "$(cat "$OUT.stamp" 2>/dev/null)" != "$want" || ! -x "$OUT" ]]; then
  if [[ ! -x "$GO" ]]; then
    echo "examples: WARNING: no Go toolchain; examples/go not built (test_otel_clients will skip)" >&2
    exit 0
  fi
  (cd "$REPO/examples/go" && GOFLAGS=-mod=readonly "$GO" build -trimpath -o "$OUT" .)
  echo "$want" >"$OUT.stamp"
  echo "examples: OpenTelemetry Go example built into $OUT"
fi
