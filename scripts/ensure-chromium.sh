#!/usr/bin/env bash
# Make a headless browser available for the HTML report's browser test, idempotently, and print its path:
#   - SMC_CHROMIUM when set (a browser binary of your choice);
#   - else the first of chromium, chromium-browser, google-chrome, google-chrome-stable on PATH;
#   - else installs Debian's `chromium` (needs root and apt) with fonts-dejavu-core, so the page has a font.
# Safe to call many times; the second call returns at once.
set -euo pipefail

say() { printf 'ensure-chromium: %s\n' "$*" >&2; }

find_browser() {
  if [ -n "${SMC_CHROMIUM:-}" ]; then
    command -v "$SMC_CHROMIUM" && return 0
    say "SMC_CHROMIUM=$SMC_CHROMIUM is not an executable."
    exit 1
  fi
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" && return 0
  done
  return 1
}

find_browser && exit 0

# Parallel callers (xdist workers, two test runs) must not run apt-get twice: the first installs under
# this lock, the others wait for it and then find the browser.
exec 9>"${SMC_LOCK_DIR:-/tmp}/sagemaker-conformance-ensure-chromium.lock"
flock 9
find_browser && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "no chromium is installed and this script can only install one as root on Debian/Ubuntu."
  say "Install Chromium or Chrome (or set SMC_CHROMIUM to its binary) and run this again."
  exit 1
fi
say "installing Debian's chromium ..."
export DEBIAN_FRONTEND=noninteractive
packages=(chromium fonts-dejavu-core)
# Another apt-get (a second test run, the Docker install) may hold the lock: wait for it rather than fail.
apt=(apt-get -o DPkg::Lock::Timeout=300)
if ! "${apt[@]}" install -y -q --no-install-recommends "${packages[@]}" >&2; then
  # A fresh machine may have no package lists yet, or stale ones.
  "${apt[@]}" update -q >&2
  "${apt[@]}" install -y -q --no-install-recommends "${packages[@]}" >&2
fi
find_browser || { say "chromium was installed but is not on PATH."; exit 1; }
