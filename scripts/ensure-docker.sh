#!/usr/bin/env bash
# Make a Docker engine answer, idempotently:
#   - nothing to do when `docker info` already answers;
#   - installs Debian's docker.io when no engine is installed (needs root and apt);
#   - starts dockerd in the background when it is installed but not running;
#   - waits until it answers, or fails with the tail of the daemon's log.
# Safe to call many times; the second call returns in well under a second.
set -euo pipefail

LOG=${SMC_DOCKERD_LOG:-/var/log/sagemaker-conformance-dockerd.log}
WAIT=${SMC_DOCKERD_WAIT:-60}

say() { printf 'ensure-docker: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

# Parallel callers (`tox p`, xargs builds) must not run apt-get or start dockerd twice: the first one
# does the work under this lock, the others wait for it and then find the engine answering.
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-ensure-docker.lock"
flock 9
if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
  say "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'."
  say "It names a remote engine, which this script cannot start: start it there, or unset DOCKER_HOST."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "no Docker engine is installed and this script can only install one as root on Debian/Ubuntu."
    say "Install Docker (https://docs.docker.com/engine/install/) and run this again."
    exit 1
  fi
  say "installing Debian's docker.io ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    say "dockerd is installed but not running, and starting it needs root: run 'sudo dockerd &' or 'sudo systemctl start docker'."
    exit 1
  fi
  say "starting dockerd in the background (log: $LOG) ..."
  mkdir -p "$(dirname "$LOG")"
  # setsid: the daemon must outlive this script and the shell that called it.
  # 9>&-: the daemon must not inherit (and hold forever) the lock above.
  setsid nohup dockerd --storage-driver=overlay2 >>"$LOG" 2>&1 < /dev/null 9>&- &
fi

for _ in $(seq 1 "$WAIT"); do
  if docker info >/dev/null 2>&1; then
    say "engine up: $(docker version --format 'server {{.Server.Version}}' 2>/dev/null)"
    exit 0
  fi
  sleep 1
done

say "dockerd did not answer within ${WAIT}s. Last lines of $LOG:"
tail -n 30 "$LOG" >&2 || true
say "Fix the cause above (storage driver, iptables, permissions) and run this script again."
exit 1
