#!/usr/bin/env bash
# Make sure a Docker daemon answers (the Docker tests need one and must not skip).
# If none does, start dockerd in the background the way this CI machine allows (no iptables, no
# bridge, the vfs storage driver), wait up to 60 s for it, and record its pid so
# .ci/dockerd-stop.sh can stop it.  A daemon that was already running is left alone.
set -euo pipefail
state="${GBL_DOCKERD_DIR:-${TMPDIR:-/tmp}/gbl-dockerd}"
pidfile="$state/dockerd.pid"
logfile="$state/dockerd.log"

answers() {
  if command -v docker >/dev/null 2>&1; then
    docker info >/dev/null 2>&1
  else
    python3 -c 'import docker; docker.from_env(timeout=5).ping()' >/dev/null 2>&1
  fi
}

if answers; then
  echo "dockerd.sh: a Docker daemon already answers; using it"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd.sh: no Docker daemon answers and dockerd is not installed (apt-get install docker.io)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
mkdir -p "$state"
echo "dockerd.sh: starting dockerd (log: $logfile)"
# setsid: the daemon must not get the Ctrl-C / SIGINT meant for the test run.
$SUDO setsid dockerd --iptables=false --bridge=none --storage-driver=vfs >"$logfile" 2>&1 </dev/null &
echo $! >"$pidfile"
for _ in $(seq 60); do
  if answers; then
    echo "dockerd.sh: dockerd is up (pid $(cat "$pidfile"))"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "dockerd.sh: dockerd exited; its log:" >&2
    tail -n 40 "$logfile" >&2
    rm -f "$pidfile"
    exit 1
  fi
  sleep 1
done
echo "dockerd.sh: dockerd did not answer within 60 s; its log:" >&2
tail -n 40 "$logfile" >&2
exit 1
