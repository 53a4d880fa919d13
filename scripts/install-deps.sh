#!/usr/bin/env bash
# Install the build, test and demo dependencies of logship (Debian 12 / apt only).
# Idempotent: when every package is already installed it does nothing at all.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates ccache  # toolchain and build system
  libuv1-dev libzstd-dev zstd                                # agent event loop, batch compression
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc  # wire protocol
  libabsl-dev                                                 # abseil (gRPC's locks: lock_order_graph.h)
  libyaml-cpp-dev libcli11-dev rapidjson-dev                 # config, command line, JSON
  libxxhash-dev libre2-dev libisal-dev                       # record ids, regex parser, CRC32C
  libmicrohttpd-dev                                          # /metrics, /healthz and the web console
  libcurl4-openssl-dev zlib1g-dev                            # Elasticsearch sink (HTTP, gzip bodies)
  libssl-dev openssl                                         # token comparison; test certificates
  libsystemd-dev systemd-journal-remote                      # journald source; its tests make journal files
  libpq-dev postgresql postgresql-client                     # PostgreSQL sink and its tests
  doctest-dev                                                # unit tests
  clang libclang-rt-14-dev                                   # libFuzzer harnesses (tests/fuzz)
  chromium                                                   # web console browser tests (playwright-core)
  procps python3 python3-pip util-linux                      # integration harness (pgrep, runuser); PyPI tools
  faketime                                                   # catalogue test: the clock jumping backwards
  python3-grpcio python3-grpc-tools python3-protobuf         # OTLP and raw-frame test clients
  rpm lintian dpkg-dev file debootstrap systemd iproute2     # packages: rpmbuild, lint, shlibdeps, chroot, unit checks
  docker.io docker-compose prometheus                        # collector image test, compose check, promtool + scrape test
  openjdk-17-jdk-headless maven                              # real OpenSearch/Elasticsearch nodes, Kafka (tests/engines)
  librdkafka-dev                                             # Kafka sink and input
)

# Node.js and npm (browser tests): from Debian (nodejs 18, npm 9) where absent; a Node.js that
# is already there (20 on the development machines) is kept. tests/console pins a playwright-core
# that runs on 18 (1.61.1; 1.62 and later need 20).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: missing: ${missing[*]}"
  SUDO=()
  if ((EUID != 0)); then
    SUDO=(sudo)
  fi
  # Wait for a concurrent apt/dpkg run instead of failing on its lock.
  APT_OPTS=(-o DPkg::Lock::Timeout=300)
  "${SUDO[@]}" apt-get "${APT_OPTS[@]}" update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${PACKAGES[@]}"
fi

# Tools from PyPI, pinned, into the git-ignored .cache/tools (never the system Python):
# lizard measures function lengths for scripts/check-code-size.py.
REPO=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$REPO/.cache/tools"
if [[ ! -d "$TOOLS/lizard-1.17.10.dist-info" ]]; then
  /usr/bin/python3 -m pip install --quiet --disable-pip-version-check --target "$TOOLS" lizard==1.17.10
  echo "install-deps: lizard 1.17.10 in $TOOLS"
fi

# The OpenTelemetry example clients (examples/, tests/integration/test_otel_clients.py): a
# pinned venv from PyPI and the Go example built from the Go module proxy, into .cache/
# (skipped when unchanged).
bash "$REPO/examples/setup.sh"

# Real engines for the tests (tests/engines/README.md), from Maven Central, cached in the
# git-ignored .cache/engines (about 300 MB; a second run checks the cache and returns): the
# OpenSearch and Elasticsearch integration-test distributions for the Elasticsearch sink's
# tests, and Kafka (broker and tools) for the kafka sink and kafka_input's (test_kafka.py).
/usr/bin/python3 "$REPO/tests/engines/fetch.py" opensearch elasticsearch kafka

# Helm and kubeconform for the Helm chart's test (tests/packaging/test_helm.py), built from the
# Go module proxy, and the Kubernetes 1.30 schemas made from the k8s.io/kubernetes module, into
# the git-ignored .cache/k8s-tools (pinned; a second run checks the cache and returns).
/usr/bin/python3 "$REPO/scripts/fetch-k8s-tools.py"
