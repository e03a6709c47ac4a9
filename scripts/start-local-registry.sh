#!/usr/bin/env bash
# A real Docker registry (Debian's docker-registry, i.e. distribution v2) on loopback, idempotently:
#
#   scripts/start-local-registry.sh                 # 127.0.0.1:5000, printed on stdout
#   scripts/start-local-registry.sh --port 5001     # another port (or SMC_REGISTRY_PORT)
#   scripts/start-local-registry.sh --stop          # stop the one this script started on that port
#
#   - reuses a registry that already answers http://127.0.0.1:PORT/v2/ (a second call takes well under a second);
#   - otherwise installs Debian's docker-registry when it is missing (root and apt-get), writes its own config
#     (no auth, storage and log under --dir, default ${TMPDIR:-/tmp}/smc-registry-PORT) and runs it in the
#     background on 127.0.0.1 only;
#   - checks that the engine treats the address as an insecure (plain HTTP) registry, which Docker does for
#     all of 127.0.0.0/8 by default, so `docker push 127.0.0.1:PORT/name:tag` works with no daemon setting.
#
# stdout: the registry's address (HOST:PORT) and nothing else; messages go to stderr.
# Exit codes: 0 running; 1 it could not be started (the reason is printed); 2 usage error.
set -euo pipefail

say() { printf 'start-local-registry: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

port=${SMC_REGISTRY_PORT:-5000}
dir=${SMC_REGISTRY_DIR:-}
stop=false
while [ $# -gt 0 ]; do
  case $1 in
    --port) [ $# -ge 2 ] || usage; port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    --stop) stop=true; shift ;;
    -h|--help) usage ;;
    *) say "unknown argument: $1"; usage ;;
  esac
done
case $port in ''|*[!0-9]*) say "--port must be a number, got '$port'"; exit 2 ;; esac
[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || { say "--port must be 1-65535, got $port"; exit 2; }

host=127.0.0.1
address="$host:$port"
dir=${dir:-${TMPDIR:-/tmp}/smc-registry-$port}
pidfile="$dir/registry.pid"
config="$dir/config.yml"
log="$dir/registry.log"

# The pid in our pidfile, if that process is still the registry we started with our config.
our_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$config" || return 1
  printf '%s\n' "$pid"
}

if $stop; then
  if pid=$(our_pid); then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    say "stopped the registry on $address (pid $pid)"
  else
    say "no registry started by this script runs on $address (nothing in $pidfile): nothing to stop"
  fi
  exit 0
fi

command -v curl >/dev/null 2>&1 || die "curl is needed to probe the registry (apt-get install -y curl)."

# 0: an open v2 registry answers; 1: nothing listens; 2: something else (or a registry that wants a login) answers.
probe() {
  local headers code
  headers=$(curl -sS -o /dev/null -D - --max-time 3 "http://$address/v2/" 2>/dev/null) || return 1
  code=$(printf '%s\n' "$headers" | awk 'NR == 1 { print $2 }')
  if [ "$code" = 200 ] && printf '%s\n' "$headers" | grep -qi '^docker-distribution-api-version: *registry/2'; then
    return 0
  fi
  return 2
}

check_insecure() {
  # Docker talks plain HTTP to a registry whose address is in its insecure CIDRs; 127.0.0.0/8 is always there.
  local cidrs
  cidrs=$(docker info --format '{{json .RegistryConfig.InsecureRegistryCIDRs}}' 2>/dev/null || true)
  if [ -z "$cidrs" ]; then
    say "note: could not ask the Docker engine for its insecure registries (is it running? scripts/ensure-docker.sh)."
  elif printf '%s' "$cidrs" | grep -q '"127\.0\.0\.0/8"'; then
    say "the engine treats $address (and localhost:$port) as an insecure loopback registry: plain HTTP is fine"
  else
    say "warning: the engine's insecure registries are $cidrs, without 127.0.0.0/8:"
    say "         add \"insecure-registries\": [\"$address\"] to /etc/docker/daemon.json and restart dockerd."
  fi
}

mkdir -p "$dir"
# Two callers at once (pytest -n 2) must not start two registries on one port.
exec 9>"$dir/.lock"
if command -v flock >/dev/null 2>&1; then flock -w 120 9 || die "timed out waiting for the lock $dir/.lock"; fi

status=0
probe || status=$?
if [ "$status" = 0 ]; then
  say "reusing the registry that already answers on http://$address/v2/"
  check_insecure
  printf '%s\n' "$address"
  exit 0
elif [ "$status" = 2 ]; then
  die "something already listens on $address but is not an open v2 registry (Debian's docker-registry service wants a login by default: 'systemctl stop docker-registry'), or pick another port with --port."
fi

binary=$(command -v docker-registry || true)
[ -n "$binary" ] || { [ -x /usr/bin/docker-registry ] && binary=/usr/bin/docker-registry; }
if [ -z "$binary" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "docker-registry is not installed, and this script can only install it as root on Debian/Ubuntu: 'sudo apt-get install -y docker-registry'."
  fi
  say "installing Debian's docker-registry ..."
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends docker-registry >/dev/null 2>&1; then
    apt-get update -qq >/dev/null || die "apt-get update failed: is Debian's mirror reachable?"
    apt-get install -y -qq --no-install-recommends docker-registry >/dev/null \
      || die "apt-get install docker-registry failed (above)."
  fi
  binary=/usr/bin/docker-registry
  [ -x "$binary" ] || die "docker-registry was installed but $binary is missing."
fi

mkdir -p "$dir/storage"
cat >"$config" <<EOF
# Written by scripts/start-local-registry.sh: an open registry on loopback, for the gate's end-to-end test.
version: 0.1
log:
  level: warn
  fields:
    service: smc-local-registry
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $address
  headers:
    X-Content-Type-Options: [nosniff]
EOF

say "starting $binary on $address (config $config, log $log) ..."
# setsid: the registry must outlive this script and the shell that called it.
setsid nohup "$binary" serve "$config" >>"$log" 2>&1 </dev/null 9>&- &
echo $! >"$pidfile"

for _ in $(seq 1 100); do
  status=0
  probe || status=$?
  if [ "$status" = 0 ]; then
    say "registry up on http://$address (pid $(cat "$pidfile"); stop it with: $0 --port $port --stop)"
    check_insecure
    printf '%s\n' "$address"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done

say "the registry did not answer on http://$address/v2/ within 10 s. Last lines of $log:"
tail -n 20 "$log" >&2 || true
if pid=$(our_pid); then kill "$pid" 2>/dev/null || true; fi
rm -f "$pidfile"
exit 1
