#!/usr/bin/env bash
# Debian/Ubuntu packages the project needs; `make test` and .ci/run call this before pytest.
#   libopenblas-dev g++           the legacy Theano path (it compiles C code against a BLAS)
#   chromium                      the browser tests (tests/test_browser.py drives /usr/bin/chromium)
#   fluidsynth timgm6mb-soundfont rendering MIDI to audio (the music notebook)
# Installs only what is missing (a no-op otherwise), with sudo when not root.
# NM_SKIP_SYSTEM_PACKAGES=1 skips it; without apt-get it prints what to install and exits 0.
set -euo pipefail
PKGS="libopenblas-dev g++ chromium fluidsynth timgm6mb-soundfont"

if [ "${NM_SKIP_SYSTEM_PACKAGES:-}" = "1" ]; then
  echo "system-packages: NM_SKIP_SYSTEM_PACKAGES=1, not checking: $PKGS"; exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  echo "system-packages: no apt-get here; install these (or your system's equivalents) yourself: $PKGS"; exit 0
fi
missing=""
for p in $PKGS; do
  # not just `dpkg -s p`: it also succeeds for a removed package whose config files remain
  [[ "$(dpkg -s "$p" 2>/dev/null)" == *"Status: install ok installed"* ]] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

APT="env DEBIAN_FRONTEND=noninteractive apt-get"  # through env: sudo drops exported variables
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "system-packages: missing${missing}; as root: apt-get install -y --no-install-recommends${missing}" >&2
    echo "  (or set NM_SKIP_SYSTEM_PACKAGES=1 to skip this check)" >&2; exit 1
  fi
  APT="sudo $APT"
fi
echo "system-packages: installing${missing} ($APT)"
$APT update -qq
# shellcheck disable=SC2086
$APT install -y -qq --no-install-recommends $missing
