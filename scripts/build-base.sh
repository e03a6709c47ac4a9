#!/usr/bin/env bash
# Build the project's local base image without any registry: debootstrap Debian bookworm
# (Python 3.11, venv, nginx, CA certificates) into a folder and `docker import` it.
#
# The reference Dockerfiles default to the official python:3.11-slim (ARG BASE_IMAGE); the build
# tooling falls back to this image only when that default is neither present nor pullable.
# The host's CA bundle is copied in, and pip is told to use it, so `pip install` inside builds
# works behind the same TLS-inspecting proxy as the host.
#
# Idempotent: returns at once when the image already exists (SMC_REBUILD_BASE=1 forces a rebuild).
set -euo pipefail

IMAGE=${SMC_LOCAL_BASE:-sagemaker-conformance/base:bookworm-py3.11}
MIRROR=${SMC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${SMC_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
PACKAGES=python3,python3-venv,python3-pip,nginx,ca-certificates,procps,curl,tini

say() { printf 'build-base: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-docker.sh"

# One debootstrap at a time: parallel callers wait here, then find the image built.
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-build-base.lock"
flock 9
if [ "${SMC_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root. Run as root, or pull python:3.11-slim instead."
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap ..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
    || die "could not install debootstrap with apt-get; install it and run this again."
fi
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE (set SMC_CA_BUNDLE to the host's bundle)."

work=$(mktemp -d /var/tmp/smc-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

say "debootstrap bookworm from $MIRROR into $root (about a minute) ..."
if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed (above). Is $MIRROR reachable over HTTP? Set SMC_DEBIAN_MIRROR to a reachable mirror."
fi

cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$root/etc/pip.conf"
printf 'deb %s bookworm main\n' "$MIRROR" > "$root/etc/apt/sources.list"
# Keep the image small: package caches and docs are not needed at run time.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/locale/*

say "importing as $IMAGE ..."
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$IMAGE" >/dev/null
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
