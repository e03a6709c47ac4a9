#!/usr/bin/env bash
# Build the passing fixtures: tests/good_images/build.sh [name ...]  ->  smc-good/<name>:latest
#
# Each folder is a thin layer over the decision-tree reference image (built by scripts/build-images.sh) that
# keeps the contract in a way the catalogue's broken images do not: a wrapper ENTRYPOINT, harmless baked
# settings. tests/docker/test_good_images.py certifies them. SMC_GOOD_BASE builds on another image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${SMC_GOOD_BASE:-sagemaker-conformance/decision_trees:latest}
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}  # this engine may have no buildx plugin
docker image inspect "$base" >/dev/null 2>&1 \
  || { echo "build.sh: $base is missing; run scripts/build-images.sh decision_trees first" >&2; exit 1; }
names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(cd "$here" && for d in */; do [ -f "$d/Dockerfile" ] && echo "${d%/}"; done)
for name in "${names[@]}"; do
  [ -f "$here/$name/Dockerfile" ] || { echo "build.sh: no $here/$name/Dockerfile" >&2; exit 1; }
  docker build -q --build-arg BASE_IMAGE="$base" -t "smc-good/$name:latest" "$here/$name" >/dev/null
  echo "built smc-good/$name:latest"
done
