#!/usr/bin/env bash
# Build the tool's own image (tool/Dockerfile): scripts/build-tool-image.sh [TAG]   (default sagemaker-conformance:latest)
# from a context of pyproject.toml, README.md and conformance/ only, on the base scripts/choose-base.sh picks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
tag=${1:-sagemaker-conformance:latest}
"$here/ensure-docker.sh"
base=$("$here/choose-base.sh")
context=$(mktemp -d "${TMPDIR:-/tmp}/smc-tool.XXXXXX")
trap 'rm -rf "$context"' EXIT
cp "$repo/pyproject.toml" "$repo/README.md" "$repo/tool/Dockerfile" "$context/"
(cd "$repo" && tar --exclude=__pycache__ -cf - conformance) | tar -C "$context" -xf -
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --force-rm -q --build-arg "BASE_IMAGE=$base" -t "$tag" "$context" >/dev/null
printf 'build-tool-image: built %s on %s\n' "$tag" "$base" >&2
