#!/usr/bin/env bash
# Build the broken-image catalogue: scripts/build-broken-images.sh [name ...]
#   (default: every [[image]] of tests/broken_images/catalogue.toml)  ->  smc-broken/<name>:latest
#
# Each image is a thin layer over the decision-tree reference image (sagemaker-conformance/decision_trees:latest,
# built by scripts/build-images.sh decision_trees, which this script runs when the image is missing) that
# breaks exactly one clause. The build context is tests/broken_images itself, so every image can use the
# shared helpers in tests/broken_images/_lib; an entry with `architecture = "..."` is built for amd64 and then
# has its config rewritten (tests/broken_images/_lib/set_architecture.py).
#
# An entry with `base = "smc-eco/<name>:latest"` is a twin of an ecosystem corpus image
# (tests/ecosystem/corpus.toml) and is built on that image instead (scripts/build-ecosystem-images.sh
# builds it first when it is missing). `base = "smc-good/<name>:latest"` builds on a passing fixture of
# tests/good_images (tests/good_images/build.sh builds it first when it is missing).
# `base = "sagemaker-conformance/<name>:latest"` builds on another reference
# image (scripts/build-images.sh builds it first when it is missing).
#
# Idempotent and fast when cached: Docker's layer cache makes an unchanged image a no-op (about half a second
# each). Set SMC_BROKEN_BASE to build on another image of the same stack; SMC_BUILD_JOBS builds in parallel
# (default 4).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
context="$repo/tests/broken_images"
catalogue="$context/catalogue.toml"
base=${SMC_BROKEN_BASE:-sagemaker-conformance/decision_trees:latest}
jobs=${SMC_BUILD_JOBS:-4}
# The project's venv when there is one (tomllib needs 3.11, else tomli, which the venv has on older Pythons).
python=${PYTHON:-$([ -x "$repo/.venv/bin/python" ] && echo "$repo/.venv/bin/python" || echo python3)}

say() { printf 'build-broken-images: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

"$here/ensure-docker.sh"
# The legacy builder, as for the reference images: this engine may have no buildx plugin.
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

if ! docker image inspect "$base" >/dev/null 2>&1; then
  [ -z "${SMC_BROKEN_BASE:-}" ] || die "SMC_BROKEN_BASE=$base is not in the engine's image store."
  say "$base is missing: building it with scripts/build-images.sh decision_trees ..."
  "$here/build-images.sh" decision_trees
fi

# "name architecture base" ("-" for none), one line per catalogue entry, in catalogue order.
entries=$("$python" - "$catalogue" "$@" <<'PY'
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
catalogue, wanted = sys.argv[1], sys.argv[2:]
with open(catalogue, "rb") as f:
    images = tomllib.load(f)["image"]
names = [image["name"] for image in images]
unknown = [name for name in wanted if name not in names]
if unknown:
    sys.exit(f"not in {catalogue}: {', '.join(unknown)}")
for image in images:
    if not wanted or image["name"] in wanted:
        print(image["name"], image.get("architecture") or "-", image.get("base") or "-")
PY
) || die "could not read $catalogue (above)."

# The corpus images that twins build on, built (or found in the cache) before the parallel builds.
eco=$(printf '%s\n' "$entries" | awk '$3 ~ /^smc-eco\// { sub(/^smc-eco\//, "", $3); sub(/:latest$/, "", $3); print $3 }' | sort -u)
for name in $eco; do
  docker image inspect "smc-eco/$name:latest" >/dev/null 2>&1 || "$here/build-ecosystem-images.sh" "$name"
done
# The passing fixtures that images break one clause of (the text generator), built the same way.
good=$(printf '%s\n' "$entries" | awk '$3 ~ /^smc-good\// { sub(/^smc-good\//, "", $3); sub(/:latest$/, "", $3); print $3 }' | sort -u)
for name in $good; do
  docker image inspect "smc-good/$name:latest" >/dev/null 2>&1 || "$repo/tests/good_images/build.sh" "$name"
done
# And the other reference images that entries build on (the text generator's WebSocket twins).
refs=$(printf '%s\n' "$entries" | awk '$3 ~ /^sagemaker-conformance\// { sub(/^sagemaker-conformance\//, "", $3); sub(/:latest$/, "", $3); print $3 }' | sort -u)
for name in $refs; do
  docker image inspect "sagemaker-conformance/$name:latest" >/dev/null 2>&1 || "$here/build-images.sh" "$name"
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/build-broken.XXXXXX")
trap 'rm -rf "$logs"' EXIT

build_one() {  # name architecture base ("-" for none)
  local name=$1 arch=${2#-} from=${3#-} tag="smc-broken/$1:latest" built="smc-broken/$1:latest"
  [ -f "$context/$name/Dockerfile" ] || { echo "no $context/$name/Dockerfile" >"$logs/$name.log"; return 1; }
  # An image whose architecture is rewritten is first built as an ordinary (amd64) image under another tag.
  [ -z "$arch" ] || built="smc-broken/$name:amd64-build"
  docker build -f "$context/$name/Dockerfile" --build-arg "BASE_IMAGE=${from:-$base}" -t "$built" "$context" \
    >"$logs/$name.log" 2>&1 || return 1
  if [ -n "$arch" ]; then
    "$python" "$context/_lib/set_architecture.py" "$built" "$tag" "$arch" >>"$logs/$name.log" 2>&1 || return 1
  fi
}
export -f build_one
export context base logs python

start=$(date +%s)
failed=0
# xargs runs up to $jobs builds at once; each prints its name and outcome when it is done.
# shellcheck disable=SC2016  # $0 and $1 are the inner shell's arguments, expanded there
printf '%s\n' "$entries" | xargs -P "$jobs" -n 3 bash -c '
  if build_one "$0" "$1" "$2"; then echo "ok $0"; else echo "FAILED $0"; fi' >"$logs/outcomes" || true
while read -r outcome name; do
  if [ "$outcome" != ok ]; then
    failed=$((failed + 1))
    say "FAILED: smc-broken/$name:latest; the end of its build log:"
    tail -n 20 "$logs/$name.log" >&2
  fi
done <"$logs/outcomes"
total=$(printf '%s\n' "$entries" | grep -c .)
[ "$failed" -eq 0 ] || die "$failed of $total images failed to build (logs above)."
say "built $total broken images (smc-broken/<name>:latest) on $base (twins on their corpus images) in $(( $(date +%s) - start )) s"
