#!/usr/bin/env bash
# Build the ecosystem corpus: scripts/build-ecosystem-images.sh [name ...]
#   (default: every [[image]] of tests/ecosystem/corpus.toml)  ->  smc-eco/<name>:latest
#
# Each image is built the way its ecosystem builds it, from tests/ecosystem/<name>/Dockerfile, with the
# ecosystem's own packages from PyPI (pinned in the Dockerfile). An entry's `base` names the image it
# builds on (the corpus's wrapper image sits on a reference image, built first with build-images.sh when
# missing); without one, the Python base is chosen as scripts/build-images.sh chooses it: $SMC_BASE_IMAGE,
# else python:3.11-slim when present locally, else the local Debian base (scripts/build-base.sh).
#
# Idempotent: Docker's layer cache makes an unchanged image a no-op. SMC_NO_CACHE=1 rebuilds every layer
# (to time a cold build). Builds run one at a time under a lock, as the other build scripts do.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
corpus="$repo/tests/ecosystem/corpus.toml"
OFFICIAL=python:3.11-slim
LOCAL_BASE=${SMC_LOCAL_BASE:-sagemaker-conformance/base:bookworm-py3.11}
python=${PYTHON:-$([ -x "$repo/.venv/bin/python" ] && echo "$repo/.venv/bin/python" || echo python3)}

say() { printf 'build-ecosystem-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

"$here/ensure-docker.sh"
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-build-ecosystem.lock"
flock 9
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

# "name base" ("-" for the Python base), one line per corpus entry, in corpus order.
entries=$("$python" - "$corpus" "$@" <<'PY'
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
corpus, wanted = sys.argv[1], sys.argv[2:]
with open(corpus, "rb") as f:
    images = tomllib.load(f)["image"]
names = [image["name"] for image in images]
unknown = [name for name in wanted if name not in names]
if unknown:
    sys.exit(f"not in {corpus}: {', '.join(unknown)}")
for image in images:
    if not wanted or image["name"] in wanted:
        print(image["name"], image.get("base") or "-")
PY
) || die "could not read $corpus (above)."

python_base() {
  if [ -n "${SMC_BASE_IMAGE:-}" ]; then
    echo "$SMC_BASE_IMAGE"
  elif docker image inspect "$OFFICIAL" >/dev/null 2>&1; then
    echo "$OFFICIAL"
  else
    "$here/build-base.sh" >&2 || die "scripts/build-base.sh failed (above)."
    echo "$LOCAL_BASE"
  fi
}

total_start=$(date +%s)
while read -r name base; do
  [ -n "$name" ] || continue
  context="$repo/tests/ecosystem/$name"
  [ -f "$context/Dockerfile" ] || die "no $context/Dockerfile"
  if [ "$base" = - ]; then
    base=$(python_base)
  elif ! docker image inspect "$base" >/dev/null 2>&1; then
    case "$base" in
      sagemaker-conformance/*:latest)
        ref=${base#sagemaker-conformance/}
        "$here/build-images.sh" "${ref%:latest}" ;;
      *) die "$name builds on $base, which is not in the engine's image store." ;;
    esac
  fi
  tag="smc-eco/$name:latest"
  log=$(mktemp "${TMPDIR:-/tmp}/build-eco-$name.XXXXXX.log")
  cache_flag=()
  [ "${SMC_NO_CACHE:-0}" = 1 ] && cache_flag=(--no-cache)
  start=$(date +%s)
  if ! docker build --force-rm "${cache_flag[@]}" --build-arg "BASE_IMAGE=$base" -t "$tag" "$context" \
      >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "FAILED: $tag (full log: $log). A pip error means a pin in $context/Dockerfile cannot be installed on $base."
  fi
  rm -f "$log"
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')
  say "built $tag on $base in $(( $(date +%s) - start )) s ($size)"
done <<<"$entries"
say "corpus built in $(( $(date +%s) - total_start )) s"
