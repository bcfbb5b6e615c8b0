#!/usr/bin/env bash
# Stop the dockerd that .ci/dockerd.sh started (and only that one): a no-op when it started none.
set -uo pipefail
state="${GBL_DOCKERD_DIR:-${TMPDIR:-/tmp}/gbl-dockerd}"
pidfile="$state/dockerd.pid"
[ -f "$pidfile" ] || exit 0
pid="$(cat "$pidfile")"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if kill -0 "$pid" 2>/dev/null; then
  echo "dockerd-stop.sh: stopping dockerd (pid $pid)"
  $SUDO kill -TERM "$pid"
  for _ in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "dockerd-stop.sh: dockerd did not stop in 30 s; killing it" >&2
    $SUDO kill -KILL "$pid"
  fi
fi
rm -f "$pidfile"
