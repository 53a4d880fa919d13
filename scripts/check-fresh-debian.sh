#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12, repeatable: debootstrap a bookworm minbase
# root, install git in it, `git clone` this repository into it, then run `scripts/demo.sh`
# (DEMO_SECONDS=60) and `scripts/test.sh` inside, as root. Prints each command's exit
# code, wall time and log tail. Not part of CI: a full run takes 20-30 min on 2 cores.
#
# Usage (as root): scripts/check-fresh-debian.sh [options]
#   --worktree          copy this working tree (uncommitted and untracked files too) over
#                       the clone; without it the committed HEAD is checked, as a user gets it
#   --only-demo | --only-test
#   --test-regex RE     LOGSHIP_TEST_REGEX=RE for scripts/test.sh
#   --env NAME=VALUE    another variable for both commands (e.g. LOGSHIP_SKIP_ASAN=1)
#   --demo-seconds N    DEMO_SECONDS (default 60)
#   --root DIR          where the root goes (default /var/tmp/logship-fresh-debian.XXXXXX);
#                       must not exist or be empty
#   --reuse             DIR (from --root) is a kept root: skip debootstrap and clone, run again
#                       (with --worktree the working tree is copied over again)
#   --keep              keep the root afterwards (default: removed)
#   --logs DIR          the logs (default: <root>.logs, kept)
#
# How the root is entered: every command runs in a private mount namespace (unshare -m) in
# which the root is bind-mounted onto itself and made the namespace's root with
# pivot_root(2), with its own /proc, the host's /sys (cgroups) and /dev, a fresh /run and
# /dev/shm. A plain chroot is not enough for Docker: with / not a mount point dockerd cannot
# unpack an image ("remount /, flags: 0x84000: invalid argument"), and with / a bind mount
# but still a chroot, runc's pivot_root puts the container's root where the chroot's was,
# while `docker exec` (setns into the container's mount namespace) starts at the namespace's
# root, the host's /: health checks run the host's files and fail (README, "Fresh Debian 12").
#
# What the root gets besides debootstrap's packages: /etc/hosts (localhost), the host's
# resolv.conf and local CA certificates (/usr/local/share/ca-certificates, for a proxy the
# host trusts), and a policy-rc.d that stops package installs from starting services
# (PostgreSQL, dockerd, Prometheus): there is no init in the root, and a daemon started there
# would outlive the check as a stray process on the host's network. The tests start their own.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=check-fresh-debian

WORKTREE=0 ONLY='' TEST_REGEX='' DEMO_SECONDS=60 ROOT='' REUSE=0 KEEP=0 LOGS=''
EXTRA_ENV=()
TAIL_LINES=30

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
  exit "${1:-0}"
}

while (($#)); do
  case $1 in
    --worktree) WORKTREE=1 ;;
    --only-demo) ONLY=demo ;;
    --only-test) ONLY=test ;;
    --test-regex) TEST_REGEX=${2:?--test-regex RE}; shift ;;
    --env) [[ ${2:-} == *=* ]] || usage 2; EXTRA_ENV+=("$2"); shift ;;
    --demo-seconds) DEMO_SECONDS=${2:?--demo-seconds N}; shift ;;
    --root) ROOT=${2:?--root DIR}; shift ;;
    --reuse) REUSE=1 ;;
    --keep) KEEP=1 ;;
    --logs) LOGS=${2:?--logs DIR}; shift ;;
    -h|--help) usage 0 ;;
    *) echo "$PROG: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done

log() { printf '%s %s: %s\n' "$(date +%T)" "$PROG" "$*"; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 2; }

((EUID == 0)) || die "run as root (debootstrap, unshare, chroot)"
for tool in debootstrap unshare pivot_root chroot git python3 tar; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install debootstrap git python3 util-linux)"
done
((REUSE == 0)) || [[ -n "$ROOT" ]] || die "--reuse needs --root DIR"

if [[ -z "$ROOT" ]]; then
  ROOT=$(mktemp -d /var/tmp/logship-fresh-debian.XXXXXX)
elif ((REUSE)); then
  [[ -d "$ROOT/root/logship/.git" ]] || die "--reuse: $ROOT has no /root/logship clone"
else
  mkdir -p "$ROOT"
  [[ -z "$(ls -A "$ROOT")" ]] || die "$ROOT is not empty (--reuse to run in a kept root)"
fi
ROOT=$(cd "$ROOT" && pwd -P)
[[ "$ROOT" != / ]] || die "--root / ?"
LOGS=${LOGS:-$ROOT.logs}
mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd -P)
STATE=$(mktemp -d /tmp/$PROG.XXXXXX)   # unique: names this run's processes (MARKER)

# ---------------------------------------------------------------- cleanup
# Processes left in the root (containerd shims, a daemon of a failed test): only ours carry
# the marker variable that every command in the root is started with (a namespace id alone
# could be reused by someone else's namespace once ours is gone).
MARKER=LOGSHIP_FRESH_CHECK=$STATE
kill_leftovers() {
  local pids pid sig
  for sig in TERM KILL; do
    pids=()
    for pid in /proc/[0-9]*; do
      if grep -qzxF "$MARKER" "$pid/environ" 2>/dev/null; then
        pids+=("${pid#/proc/}")
      fi
    done
    ((${#pids[@]})) || return 0
    log "ending ${#pids[@]} leftover process(es) in the root with SIG$sig: ${pids[*]}"
    kill -"$sig" "${pids[@]}" 2>/dev/null || true
    sleep 3
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  kill_leftovers
  # Everything was mounted inside private namespaces; nothing should show here.
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import debian_base; debian_base.unmount_under(sys.argv[2])' \
    "$REPO/tests/packaging" "$ROOT" 2>/dev/null || true
  if ((KEEP)); then
    log "root kept: $ROOT"
  else
    log "removing $ROOT"
    rm -rf --one-file-system "$ROOT"
  fi
  rm -rf "$STATE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- entering the root
# in_root [--src] CMD...: run CMD in the root as its own machine (see the header). --src
# also mounts this repository read-only at /mnt/logship-src (for the clone).
ENV_BASE=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM="${TERM:-dumb}"
          PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$MARKER")
in_root() {
  local src=''
  if [[ $1 == --src ]]; then src=$REPO; shift; fi
  unshare --mount --propagation private -- /bin/bash -euc '
    R=$1 SRC=$2; shift 2
    mount --bind "$R" "$R"
    mount -t proc proc "$R/proc"
    mount --rbind /sys "$R/sys"
    mount --rbind /dev "$R/dev"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
    if [[ -n "$SRC" ]]; then
      mkdir -p "$R/mnt/logship-src"
      mount --bind "$SRC" "$R/mnt/logship-src"
      mount -o remount,bind,ro "$R/mnt/logship-src"
    fi
    mkdir -p "$R/.host-root"
    cd "$R"
    pivot_root . .host-root
    exec chroot . /bin/sh -c "umount -l /.host-root && rmdir /.host-root && cd /root && exec \"\$@\"" sh "$@"
  ' in_root "$ROOT" "$src" /usr/bin/env -i "${ENV_BASE[@]}" "$@"
}

# ---------------------------------------------------------------- the root
T_SETUP=$SECONDS
if ((REUSE == 0)); then
  log "debootstrap --variant=minbase bookworm (cached tarball: tests/packaging/debian_base.py)"
  TARBALL=$(python3 "$REPO/tests/packaging/debian_base.py" | tail -n 1)
  [[ -f "$TARBALL" ]] || die "no base tarball: $TARBALL"
  tar --numeric-owner -xpf "$TARBALL" -C "$ROOT"
  log "root: $ROOT (from $TARBALL)"

  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
  printf '#!/bin/sh\n# %s: no services start in this root (no init here)\nexit 101\n' "$PROG" \
    >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
  fi
  chmod 1777 "$ROOT/tmp"

  log "apt-get install git ca-certificates; git clone"
  in_root --src /bin/bash -euc '
    apt-get -q update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends git ca-certificates >/dev/null
    git clone -q /mnt/logship-src /root/logship
    git -C /root/logship remote remove origin
    echo "cloned $(git -C /root/logship rev-parse --short HEAD): $(git -C /root/logship log -1 --format=%s | cut -c1-80)"
  ' >"$LOGS/setup.log" 2>&1 || { tail -n "$TAIL_LINES" "$LOGS/setup.log"; die "setting up the root failed"; }
  cat "$LOGS/setup.log"
fi

if ((WORKTREE)); then
  # The working tree as it is: tracked files (changed or not) and untracked, not ignored ones;
  # files deleted in the working tree are deleted in the clone too.
  log "copying the working tree of $REPO over the clone (--worktree)"
  (
    cd "$REPO"
    git ls-files -z --deleted | (cd "$ROOT/root/logship" && xargs -0 -r rm -f --)
    git ls-files -z --cached --others --exclude-standard |
      while IFS= read -r -d '' f; do
        if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
      done |
      tar --null -T - -cf - | tar -C "$ROOT/root/logship" -xf -
  )
  git -C "$REPO" status --short | sed -n 's/^/  /; 1,20p'
fi
T_SETUP=$((SECONDS - T_SETUP))
DU_SETUP=$(du -sxm "$ROOT" | cut -f1)

# ---------------------------------------------------------------- the two commands
declare -A RC WALL
run_command() {   # run_command NAME COMMAND-LINE ENV...
  local name=$1 cmdline=$2; shift 2
  local logf=$LOGS/$name.log t0=$SECONDS rc
  log "$name: $cmdline (log $logf)"
  set +e
  in_root /usr/bin/env "$@" "${EXTRA_ENV[@]}" /bin/bash -c "cd /root/logship && time $cmdline" \
    >"$logf" 2>&1 </dev/null
  rc=$?
  set -e
  kill_leftovers
  RC[$name]=$rc
  WALL[$name]=$((SECONDS - t0))
  log "$name: exit $rc after ${WALL[$name]} s"
}

if [[ "$ONLY" != test ]]; then
  run_command demo scripts/demo.sh "DEMO_SECONDS=$DEMO_SECONDS"
  DEMO_ROWS=$(grep -Eo '^rows: [0-9]+' "$LOGS/demo.log" | tail -n 1 | cut -d' ' -f2 || true)
  DEMO_ROWS=${DEMO_ROWS:-0}
  if ((RC[demo] == 0 && DEMO_ROWS == 0)); then
    RC[demo]=1
    log "demo: exit 0 but no rows arrived in PostgreSQL"
  fi
fi
DU_DEMO=$(du -sxm "$ROOT" | cut -f1)
if [[ "$ONLY" != demo ]]; then
  test_env=()
  [[ -z "$TEST_REGEX" ]] || test_env+=("LOGSHIP_TEST_REGEX=$TEST_REGEX")
  run_command test scripts/test.sh "${test_env[@]}"
fi

# ---------------------------------------------------------------- report
mib() { du -sxm "$1" 2>/dev/null | cut -f1 || echo 0; }
printf '\n==== %s: summary ====\n' "$PROG"
for name in demo test; do
  [[ -n "${RC[$name]:-}" ]] || continue
  printf '\n---- %s: exit %s, %s s (log %s); last %s lines:\n' \
    "$name" "${RC[$name]}" "${WALL[$name]}" "$LOGS/$name.log" "$TAIL_LINES"
  tail -n "$TAIL_LINES" "$LOGS/$name.log"
done
printf '\n---- figures\n'
printf 'setup (root, git, clone): %s s, root %s MiB\n' "$T_SETUP" "$DU_SETUP"
[[ -z "${RC[demo]:-}" ]] || printf 'demo: exit %s, %s s, %s rows; root afterwards %s MiB\n' \
  "${RC[demo]}" "${WALL[demo]}" "$DEMO_ROWS" "$DU_DEMO"
[[ -z "${RC[test]:-}" ]] || printf 'test: exit %s, %s s\n' "${RC[test]}" "${WALL[test]}"
printf 'root now: %s MiB (repository with build trees %s MiB); downloaded: apt %s MiB (.debs in /var/cache/apt/archives), npm %s MiB (~/.npm), Maven %s MiB (~/.m2)\n' \
  "$(mib "$ROOT")" "$(mib "$ROOT/root/logship")" "$(mib "$ROOT/var/cache/apt/archives")" \
  "$(mib "$ROOT/root/.npm")" "$(mib "$ROOT/root/.m2")"
printf 'logs: %s\n' "$LOGS"

status=0
for name in demo test; do
  [[ -z "${RC[$name]:-}" || "${RC[$name]}" == 0 ]] || status=1
done
if ((status == 0)); then
  printf '\n%s: passed\n' "$PROG"
else
  printf '\n%s: FAILED\n' "$PROG"
fi
exit "$status"
