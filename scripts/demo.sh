#!/usr/bin/env bash
# End-to-end demo on one machine: a generator appends sample log lines to a file, the agent
# tails and ships them to the collector, the collector writes them to a throwaway
# PostgreSQL. Every 2 s the row count and the newest rows are printed.
#
#   scripts/demo.sh [--with-opensearch]
#
# --with-opensearch: also start a throwaway OpenSearch node (tests/engines; needs OpenJDK 17
# and Maven, see tests/engines/README.md; the first use downloads OpenSearch), give the
# collector an elasticsearch sink writing to it, and print its document count and newest
# documents (a _search sorted by @timestamp) beside the rows.
#
# Ctrl-C stops everything and removes the temp dir.
# Environment:
#   DEMO_SECONDS=N     stop by itself after N seconds (smoke checks)
#   BUILD_DIR=dir      release build tree (default: build)
#   DEMO_SKIP_BUILD=1  skip install-deps and the build: use the binaries already in
#                      BUILD_DIR/agent/ and BUILD_DIR/collector/
#   DEMO_ES_MANAGE_TEMPLATE=false
#                      --with-opensearch: manage_template: false in the sink (collectors
#                      whose template set-up the node refuses); default: the sink's default
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${BUILD_DIR:-build}
DEMO_SECONDS=${DEMO_SECONDS:-0}
DEMO_SKIP_BUILD=${DEMO_SKIP_BUILD:-0}
DEMO_ES_MANAGE_TEMPLATE=${DEMO_ES_MANAGE_TEMPLATE:-true}
WITH_OPENSEARCH=0
for arg in "$@"; do
  case $arg in
    --with-opensearch) WITH_OPENSEARCH=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "demo: unknown argument $arg (usage: scripts/demo.sh [--with-opensearch])" >&2; exit 2 ;;
  esac
done

banner() {
  printf '\n==== %s ====\n' "$*"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- build
if [[ $DEMO_SKIP_BUILD == 1 ]]; then
  banner "build: skipped (DEMO_SKIP_BUILD=1), binaries from $BUILD_DIR"
else
  banner "dependencies"
  bash scripts/install-deps.sh

  banner "build: $BUILD_DIR (RelWithDebInfo)"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$BUILD_DIR" -j"$(nproc)"
fi

[[ $BUILD_DIR == /* ]] || BUILD_DIR=$PWD/$BUILD_DIR
AGENT_BIN=$BUILD_DIR/agent/logship-agent
COLLECTOR_BIN=$BUILD_DIR/collector/logship-collector
for bin in "$AGENT_BIN" "$COLLECTOR_BIN"; do
  [[ -x "$bin" ]] || { echo "demo: missing binary $bin" >&2; exit 1; }
done

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/logship-demo.XXXXXX)
chmod 755 "$TMP"   # the postgres user must reach $TMP/pg
PG_DIR=$TMP/pg
GEN_PID='' AGENT_PID='' COLLECTOR_PID='' OPENSEARCH_PID='' PG_STARTED=0

# as_pg CMD...: run a PostgreSQL server tool as `postgres` when we are root.
as_pg() {
  if ((EUID == 0)); then
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# stop_pid PID NAME: SIGTERM, then SIGKILL after 10 s.
stop_pid() {
  local pid=$1 name=$2 i
  if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  echo "demo: stopping $name ($pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  banner "shutting down"
  stop_pid "$GEN_PID" generator
  stop_pid "$AGENT_PID" agent
  stop_pid "$COLLECTOR_PID" collector
  stop_pid "$OPENSEARCH_PID" OpenSearch   # engines.py stops the node and removes its files
  if ((PG_STARTED)); then
    echo "demo: stopping PostgreSQL"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
  echo "demo: removed $TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- PostgreSQL
banner "PostgreSQL"
PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
[[ -x "$PG_BIN/initdb" ]] || { echo "demo: no PostgreSQL server under /usr/lib/postgresql" >&2; exit 1; }
PG_PORT=$(free_port)
mkdir -p "$PG_DIR"
if ((EUID == 0)); then
  chown postgres:postgres "$PG_DIR"
fi

INITDB=("$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --encoding=UTF8)
if ! as_pg "${INITDB[@]}" --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1; then
  rm -rf "$PG_DIR/data"
  as_pg "${INITDB[@]}" --locale=C >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; exit 1; }
fi

PG_OPTS="-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1"
PG_OPTS+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
PG_STARTED=1
if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -o "$PG_OPTS" start >/dev/null; then
  echo "demo: PostgreSQL failed to start; log tail:" >&2
  tail -n 30 "$PG_DIR/postgres.log" >&2 || true
  exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
  -c "CREATE ROLE logship LOGIN SUPERUSER" \
  -c "CREATE DATABASE logs OWNER logship"
echo "PostgreSQL on 127.0.0.1:$PG_PORT (psql -h 127.0.0.1 -p $PG_PORT -U logship logs)"

# ---------------------------------------------------------------- OpenSearch
OS_URL=''
if ((WITH_OPENSEARCH)); then
  banner "OpenSearch"
  python3 tests/engines/engines.py opensearch >"$TMP/opensearch.log" 2>&1 &
  OPENSEARCH_PID=$!
  echo "demo: starting OpenSearch (pid $OPENSEARCH_PID, log $TMP/opensearch.log) …"
  for ((i = 0; i < 600; i++)); do   # up to 5 min: the first use downloads it
    OS_URL=$(sed -n 's/^READY url=\([^ ]*\).*/\1/p' "$TMP/opensearch.log")
    [[ -n "$OS_URL" ]] && break
    if ! kill -0 "$OPENSEARCH_PID" 2>/dev/null; then
      echo "demo: OpenSearch failed to start; log tail:" >&2
      tail -n 30 "$TMP/opensearch.log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  [[ -n "$OS_URL" ]] || { echo "demo: OpenSearch not ready after 5 min" >&2; exit 1; }
  echo "OpenSearch $(sed -n 's/^READY .*version=\([^ ]*\).*/\1/p' "$TMP/opensearch.log") on $OS_URL" \
    "(curl '$OS_URL/logs-logship-*/_search?q=service.name:demo')"
fi

# ---------------------------------------------------------------- configs
GRPC_PORT=$(free_port)
mkdir -p "$TMP/logs" "$TMP/agent-data"
LOG_FILE=$TMP/logs/app.log
: >"$LOG_FILE"

cat >"$TMP/collector.yaml" <<EOF
listen: 127.0.0.1:$GRPC_PORT
sinks:
  postgres:
    dsn: "host=127.0.0.1 port=$PG_PORT dbname=logs user=logship"
    table: logs
EOF
if ((WITH_OPENSEARCH)); then
  cat >>"$TMP/collector.yaml" <<EOF
  elasticsearch:
    urls: ["$OS_URL"]
    index: "logs-logship-%Y.%m.%d"
EOF
  if [[ $DEMO_ES_MANAGE_TEMPLATE == false ]]; then
    echo "    manage_template: false" >>"$TMP/collector.yaml"
  fi
fi

cat >"$TMP/agent.yaml" <<EOF
agent_id: demo-agent
data_dir: $TMP/agent-data
sources:
  - type: file
    include: ["$TMP/logs/*.log"]
    start_at: beginning
    attributes: {service: demo}
batch: {max_records: 2000, max_bytes: 1MiB, linger: 200ms}
spool: {max_bytes: 256MiB, fsync: batch}
collector:
  endpoints: ["127.0.0.1:$GRPC_PORT"]
EOF

# ---------------------------------------------------------------- processes
banner "collector + agent"
"$COLLECTOR_BIN" --config "$TMP/collector.yaml" >"$TMP/collector.log" 2>&1 &
COLLECTOR_PID=$!
"$AGENT_BIN" --config "$TMP/agent.yaml" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
echo "collector pid $COLLECTOR_PID on 127.0.0.1:$GRPC_PORT, log $TMP/collector.log"
echo "agent     pid $AGENT_PID, log $TMP/agent.log"

# generate: ~20 lines/s, a mix of nginx access, JSON application and syslog lines (UTC).
generate() {
  export TZ=UTC LC_ALL=C
  local paths=(/ /api/v1/orders /api/v1/users/42 /api/v1/cart /static/app.js /healthz /login)
  local methods=(GET GET GET GET POST PUT DELETE)
  local statuses=(200 200 200 200 201 204 304 400 401 404 500 502)
  local agents=("curl/7.88.1" "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0" "kube-probe/1.28")
  local levels=(debug info info info info warn error)
  local msgs=("order created" "payment authorized" "cache miss" "user logged in"
    "slow query" "upstream timeout" "retrying request")
  local progs=(sshd CRON systemd kernel sudo)   # sys_msgs[i] comes from progs[i]
  local sys_msgs=("Accepted publickey for deploy from 10.0.3.7 port 51022 ssh2"
    "(root) CMD (run-parts /etc/cron.hourly)" "Started Daily apt upgrade and clean activities."
    "TCP: request_sock_TCP: Possible SYN flooding on port 443." "pam_unix(sudo:session): session opened for user root")
  local us trace i
  while :; do
    case $((RANDOM % 3)) in
      0)
        printf '10.0.%d.%d - - [%(%d/%b/%Y:%H:%M:%S +0000)T] "%s %s HTTP/1.1" %s %d "-" "%s"\n' \
          $((RANDOM % 256)) $((RANDOM % 256)) -1 "${methods[RANDOM % ${#methods[@]}]}" \
          "${paths[RANDOM % ${#paths[@]}]}" "${statuses[RANDOM % ${#statuses[@]}]}" \
          $((RANDOM % 20000)) "${agents[RANDOM % ${#agents[@]}]}"
        ;;
      1)
        us=${EPOCHREALTIME: -6}
        printf -v trace '%04x%04x%04x%04x%04x%04x%04x%04x' $RANDOM $RANDOM $RANDOM $RANDOM \
          $RANDOM $RANDOM $RANDOM $RANDOM
        printf '{"ts":"%(%Y-%m-%dT%H:%M:%S)T.%sZ","level":"%s","msg":"%s","service":"shop","trace_id":"%s","user_id":%d,"duration_ms":%d}\n' \
          -1 "${us:0:3}" "${levels[RANDOM % ${#levels[@]}]}" "${msgs[RANDOM % ${#msgs[@]}]}" \
          "$trace" $((RANDOM % 1000)) $((RANDOM % 900))
        ;;
      2)
        i=$((RANDOM % ${#progs[@]}))
        printf '%(%b %e %H:%M:%S)T %s %s[%d]: %s\n' -1 "${HOSTNAME:-demo-host}" \
          "${progs[i]}" $((RANDOM % 30000 + 300)) "${sys_msgs[i]}"
        ;;
    esac
    sleep 0.05
  done
}
generate >>"$LOG_FILE" &
GEN_PID=$!
echo "generator pid $GEN_PID appending to $LOG_FILE"

# ---------------------------------------------------------------- watch
STOP_HINT="Ctrl-C to stop"
if ((DEMO_SECONDS > 0)); then
  STOP_HINT+=", or wait $DEMO_SECONDS s"
fi
WATCHING="table logs"
if ((WITH_OPENSEARCH)); then
  WATCHING+=" and OpenSearch logs-logship-*"
fi
banner "watching $WATCHING ($STOP_HINT)"
PSQL=(psql -X -At -F ' | ' -h 127.0.0.1 -p "$PG_PORT" -U logship -d logs)

# show_opensearch: the document count and the newest 3 documents, like the rows above.
show_opensearch() {
  python3 - "$OS_URL" <<'PY' || echo "docs: ? (OpenSearch did not answer)"
import json, sys, urllib.request

def call(path, body):
    req = urllib.request.Request(sys.argv[1] + path, json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)

count = call("/logs-logship-*/_count", {})["count"]
print(f"docs: {count}")
if count:
    hits = call("/logs-logship-*/_search", {"size": 3, "sort": [{"@timestamp": "desc"}],
                                            "_source": ["@timestamp", "log", "message"]})["hits"]["hits"]
    for h in hits:
        d = h["_source"]
        log = d.get("log", {})
        source = log.get("file", {}).get("path") or log.get("logger", "")
        print(f"  {d['@timestamp']} | {source} | {d.get('message', '')[:100]}")
PY
}
START=$SECONDS
while :; do
  sleep 2 &
  wait $!
  procs=(collector agent)
  if ((WITH_OPENSEARCH)); then
    procs+=(opensearch)
  fi
  for proc in "${procs[@]}"; do
    pid_var=${proc^^}_PID
    if ! kill -0 "${!pid_var}" 2>/dev/null; then
      echo "demo: $proc exited unexpectedly; log tail:" >&2
      tail -n 30 "$TMP/$proc.log" >&2 || true
      exit 1
    fi
  done
  if rows=$("${PSQL[@]}" -c "SELECT count(*) FROM logs" 2>/dev/null); then
    echo "rows: $rows"
    "${PSQL[@]}" -c "SELECT ts, source, left(body,100) FROM logs ORDER BY ts DESC LIMIT 3" |
      sed 's/^/  /' || true
  else
    echo "rows: 0 (table logs not created yet)"
  fi
  if ((WITH_OPENSEARCH)); then
    show_opensearch
  fi
  if ((DEMO_SECONDS > 0 && SECONDS - START >= DEMO_SECONDS)); then
    echo "demo: DEMO_SECONDS=$DEMO_SECONDS reached"
    exit 0
  fi
done
