#!/usr/bin/env bash
# Print the base image to build on, saying on stderr why: $SMC_BASE_IMAGE if set; python:3.11-slim if present
# locally; python:3.11-slim if `docker pull` gets it within 20 s; else the local debootstrap base from
# scripts/build-base.sh (built if missing). Shared by build-images.sh and build-tool-image.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OFFICIAL=python:3.11-slim
LOCAL_BASE=${SMC_LOCAL_BASE:-sagemaker-conformance/base:bookworm-py3.11}
say() { printf 'base image: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

if [ -n "${SMC_BASE_IMAGE:-}" ]; then
  base=$SMC_BASE_IMAGE
  docker image inspect "$base" >/dev/null 2>&1 || docker pull "$base" >/dev/null \
    || die "SMC_BASE_IMAGE=$base is neither present locally nor pullable."
  say "$base (from SMC_BASE_IMAGE)"
elif docker image inspect "$OFFICIAL" >/dev/null 2>&1; then
  base=$OFFICIAL
  say "$base (present locally)"
elif timeout 20 docker pull -q "$OFFICIAL" >/dev/null 2>&1; then
  base=$OFFICIAL
  say "$base (pulled)"
else
  say "$LOCAL_BASE ($OFFICIAL is not present and could not be pulled within 20 s;"
  say "  building the local Debian bookworm base with scripts/build-base.sh if it is missing)"
  "$here/build-base.sh" >&2 || die "scripts/build-base.sh failed (above). Fix it, or set SMC_BASE_IMAGE to a Debian-based Python 3.11 image."
  base=$LOCAL_BASE
fi

echo "$base"
