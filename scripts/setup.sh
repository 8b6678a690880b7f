#!/usr/bin/env bash
# Install what emgwatch needs on a fresh Debian machine: system packages (when root), a virtualenv
# in .venv and the package. Usage: scripts/setup.sh demo|test
#   demo: mosquitto (broker for the live demo) + runtime dependencies
#   test: everything the test suite needs: mosquitto, the AVR toolchain and simavr, socat, dev extras
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-demo}"
VENV="${VENV:-.venv}"

apt_pkgs=(mosquitto mosquitto-clients)
if [ "$what" = test ]; then
  apt_pkgs+=(gcc-avr avr-libc binutils-avr simavr libsimavr-dev libelf-dev pkg-config socat make gcc)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
fi
# Debian starts a system-wide mosquitto on port 1883 after install; emgwatch's demo and tests start
# their own broker on a free port, so the system one is left alone.

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then PY="$c"; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: Python >= 3.11 is required" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
extra=""
[ "$what" = test ] && extra="[dev]"
"$VENV/bin/python" -m pip install -q -e ".${extra}" 2>&1 | grep -v '^WARNING: Location' || true
"$VENV/bin/python" -c 'import emgwatch' || { echo "setup: package install failed" >&2; exit 1; }
