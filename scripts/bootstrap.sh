#!/usr/bin/env bash
# Everything a fresh machine needs before the harness can run, idempotently:
# a virtual environment with the package and its dev tools, and a running Docker engine.
# Fast the second time: each step checks before it acts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SMC_VENV:-$root/.venv}

if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating $venv" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian and Ubuntu ship venv's ensurepip in a separate package.
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "bootstrap: installing python3-venv (python3 -m venv needs it on Debian/Ubuntu)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
    fi
    python3 -m venv "$venv" || { echo "bootstrap: python3 -m venv failed; install python3-venv and run this again." >&2; exit 1; }
  fi
fi
stamp="$venv/.smc-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "bootstrap: installing sagemaker-conformance and its dev tools into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  touch "$stamp"
fi
"$root/scripts/ensure-docker.sh"
