#!/usr/bin/env bash
# The main job: build a bundled reference image and certify it against every clause (docs/clauses.md).
#   scripts/certify.sh                 # the decision-tree image
#   scripts/certify.sh catboost        # the CatBoost image
#   scripts/certify.sh text_generation # the text generator (JSON documents, streaming, WebSocket)
#   scripts/certify.sh decision_trees --conformance-report reports   # extra pytest arguments pass through
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-decision_trees}
[ $# -gt 0 ] && shift
"$root/scripts/bootstrap.sh"
"$root/scripts/build-images.sh" "$name"
# shellcheck source=scripts/ryuk.sh
. "$root/scripts/ryuk.sh"
cd "$root"
# A machine may set PYTHONDONTWRITEBYTECODE: each pytest process would then compile the harness and rewrite its
# asserts afresh, about 1.5 CPU-s a run. __pycache__ is ignored by git.
unset PYTHONDONTWRITEBYTECODE
exec "${SMC_VENV:-$root/.venv}/bin/python" -m pytest --image="sagemaker-conformance/$name:latest" "$@"
