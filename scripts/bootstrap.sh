#!/usr/bin/env bash
# Everything a fresh machine needs before the harness can run, idempotently:
# a virtual environment with the package and its dev tools, and a running Docker engine.
# Fast the second time: each step checks before it acts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SMC_VENV:-$root/.venv}

if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating $venv" >&2
  python3 -m venv "$venv"
fi
stamp="$venv/.smc-installed"
if [ ! -f "$stamp" ] || [ "$root/pyproject.toml" -nt "$stamp" ]; then
  echo "bootstrap: installing sagemaker-conformance and its dev tools into $venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$root[dev]"
  touch "$stamp"
fi
"$root/scripts/ensure-docker.sh"
