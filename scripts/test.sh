#!/usr/bin/env bash
# The whole test suite: unit and plugin tests, then the Docker tests (reference images, the
# ecosystem corpus, the broken-image catalogue). Installs and builds what it needs first; extra
# arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh"
"$root/scripts/build-images.sh"
PYTHON="${SMC_VENV:-$root/.venv}/bin/python" "$root/scripts/build-ecosystem-images.sh"
if [ -x "$root/scripts/build-broken-images.sh" ]; then
  PYTHON="${SMC_VENV:-$root/.venv}/bin/python" "$root/scripts/build-broken-images.sh"
fi
cd "$root"
exec "${SMC_VENV:-$root/.venv}/bin/python" -m pytest tests -n 2 "$@"
