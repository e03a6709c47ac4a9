#!/usr/bin/env bash
# The whole test suite: unit and plugin tests, then the Docker tests (reference images, the
# ecosystem corpus, the broken-image catalogue, the SageMaker Python SDK's local mode). Installs and builds
# what it needs first (the SDK and docker-compose through scripts/ensure-sdk.sh); extra arguments go to pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh"
# shellcheck source=scripts/ryuk.sh
. "$root/scripts/ryuk.sh"
"$root/scripts/build-images.sh"
PYTHON="${SMC_VENV:-$root/.venv}/bin/python" "$root/scripts/build-ecosystem-images.sh"
# The good images first: the catalogue's generative twins build on smc-good/text-generator.
"$root/tests/good_images/build.sh"
if [ -x "$root/scripts/build-broken-images.sh" ]; then
  PYTHON="${SMC_VENV:-$root/.venv}/bin/python" "$root/scripts/build-broken-images.sh"
fi
# The HTML report's browser test needs a headless Chromium (installed here on a fresh machine).
"$root/scripts/ensure-chromium.sh" >/dev/null
"$root/scripts/ensure-sdk.sh" >/dev/null
cd "$root"
# A machine may set PYTHONDONTWRITEBYTECODE: each pytest process would then compile the harness and rewrite its
# asserts afresh, about 1.5 CPU-s a run (the catalogue starts one per image). __pycache__ is ignored by git.
unset PYTHONDONTWRITEBYTECODE
# worksteal: an idle worker takes queued tests from the busy one, so the slow Docker tests at the end do not
# run one after another on a single worker while the other waits (pytest-xdist's default "load" does that).
# --durations: the slowest tests in every log, so the time budget of CI can be followed run to run.
exec "${SMC_VENV:-$root/.venv}/bin/python" -m pytest tests -n 2 --dist worksteal --durations=25 "$@"
