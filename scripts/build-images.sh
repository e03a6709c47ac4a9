#!/usr/bin/env bash
# Build the reference images: scripts/build-images.sh [name ...]   (default: every reference_images/*/Dockerfile:
#   decision_trees, catboost, text_generation)
#   -> sagemaker-conformance/<name>:latest, each built from its own folder reference_images/<name>
#
# First brings each folder's copy of the shared stack (reference_images/<name>/stack) up to date with
# reference_images/stack (scripts/sync-stack.py), so that an edit of the stack reaches every image.
#
# Base image, in this order: $SMC_BASE_IMAGE if set; python:3.11-slim if present locally; python:3.11-slim
# if `docker pull` gets it within 20 s; else the local debootstrap base from scripts/build-base.sh.
# Idempotent: a second run only re-uses Docker's layer cache (a few seconds). SMC_NO_CACHE=1 rebuilds every
# layer (docker build --no-cache), e.g. to time a cold build or to pick up a changed Debian mirror.
# SMC_IMAGE_PREFIX tags <prefix>/<name>:latest instead (default sagemaker-conformance), e.g. to try a change
# without replacing the images that other work builds on.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
reference="$repo/reference_images"
LOCAL_BASE=${SMC_LOCAL_BASE:-sagemaker-conformance/base:bookworm-py3.11}

say() { printf 'build-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

"$here/ensure-docker.sh"

# Parallel callers (`tox p` builds decision_trees for two environments) take turns, so the second
# one finds Docker's layer cache warm instead of building the same layers at the same time.
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-build-images.lock"
flock 9

# The legacy builder: this engine may have no buildx plugin, and the Dockerfile needs no BuildKit feature.
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in "$reference"/*/Dockerfile; do names+=("$(basename "$(dirname "$f")")"); done
fi
for name in "${names[@]}"; do
  [ -f "$reference/$name/Dockerfile" ] \
    || die "unknown image '$name': expected reference_images/$name/Dockerfile"
done

python3 "$here/sync-stack.py" || die "scripts/sync-stack.py could not update the stack copies (above)."

base=$("$here/choose-base.sh")

source_url=$(git -C "$repo" remote get-url origin 2>/dev/null || echo "sagemaker-conformance/reference_images")

for name in "${names[@]}"; do
  tag="${SMC_IMAGE_PREFIX:-sagemaker-conformance}/$name:latest"
  say "building $tag from $base ..."
  log=$(mktemp "${TMPDIR:-/tmp}/build-$name.XXXXXX.log")
  start=$(date +%s.%N)
  cache_flag=()
  [ "${SMC_NO_CACHE:-0}" = 1 ] && cache_flag=(--no-cache)
  if ! docker build --force-rm "${cache_flag[@]}" \
        --build-arg "BASE_IMAGE=$base" --build-arg "SOURCE_URL=$source_url" \
        -t "$tag" "$reference/$name" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    say "FAILED: $tag (full log: $log)."
    say "Read the failing step above: a pip error usually means a pin in reference_images/$name/requirements.txt"
    say "or reference_images/stack/requirements.txt cannot be installed on $base (fix the pin); an apt error"
    say "means the Debian mirror is unreachable (use a base that already has nginx, e.g. SMC_BASE_IMAGE=$LOCAL_BASE)."
    exit 1
  fi
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  rm -f "$log"
  say "built $tag in ${secs} s ($size)"
done
