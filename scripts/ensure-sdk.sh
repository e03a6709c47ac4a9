#!/usr/bin/env bash
# What the SageMaker Python SDK's local mode needs, idempotently (tests/sdk/test_local_mode.py):
#   - a Compose that local mode can call: the `docker compose` v2 plugin when the engine's CLI has one,
#     else `docker-compose` (Debian's package, installed with apt when missing; needs root);
#   - the SDK, pinned, in its own virtual environment ($SMC_SDK_VENV, default .venv-sdk), so that its
#     dependencies (boto3, pandas, ...) never enter the project's .venv or the package's dependencies.
# Prints the SDK venv's python on stdout. Fast the second time: each step checks before it acts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SMC_SDK_VENV:-$root/.venv-sdk}
# The last 2.x release (3.x dropped the v2 Estimator / LocalSession API that local mode is built on).
version=${SMC_SDK_VERSION:-2.257.7}

say() { printf 'ensure-sdk: %s\n' "$*" >&2; }

"$root/scripts/ensure-docker.sh"

# Parallel callers (pytest -n 2, tox p) take turns: one apt-get and one pip install at a time.
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-ensure-sdk.lock"
flock 9

# Local mode runs `docker compose version` and takes it when the answer names v2, else `docker-compose`.
if ! docker compose version 2>/dev/null | grep -q v2 && ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "local mode needs Docker Compose: install docker-compose (or the compose plugin) and run this again."
    exit 1
  fi
  say "installing Debian's docker-compose ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq docker-compose >/dev/null \
    || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  python3 -m venv "$venv" || { rm -rf "$venv"; say "python3 -m venv failed (scripts/bootstrap.sh installs python3-venv)."; exit 1; }
fi
stamp="$venv/.smc-sagemaker-$version"
if [ ! -f "$stamp" ]; then
  say "installing sagemaker[local]==$version into $venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q "sagemaker[local]==$version"
  rm -f "$venv"/.smc-sagemaker-*
  touch "$stamp"
fi
printf '%s\n' "$venv/bin/python"
