#!/usr/bin/env bash
# Shared set-up for `make demo`, `make test` and `make setup`.
# Idempotent: installs Debian packages only when one is missing, and reinstalls the
# project into .venv only when pyproject.toml changed (a hash stamp in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the runtime and its tests need (see README "Set-up").
DEB_PACKAGES=(
  mosquitto              # the broker the demo and the tests start on a free port
  pcscd vsmartcard-vpcd  # real PC/SC stack with a virtual reader for the smart-card simulator
  swig libpcsclite-dev   # to build pyscard when no wheel fits
  xvfb xauth             # a virtual display for the headless demo and the UI tests
  libgl1-mesa-dri libgl1 libegl1 libgles2  # Mesa software GL for Kivy
  libmtdev1 libsdl2-2.0-0                  # input + SDL for Kivy's window provider
  fonts-noto-cjk         # Chinese glyphs (Kivy's default font has none)
  espeak-ng              # spoken prompts in elder mode (optional at run time)
  # tests/deploy: the shipped units under a private systemd user manager, the kiosk screen under
  # cage (+ Xwayland for Kivy's SDL2, grim for screenshots, xwininfo/xprop), the udev rules
  systemd cage xwayland grim x11-utils udev
)

# Node.js runs the official AsyncAPI parser in the contract tests (any Node >= 18 will do:
# a machine that already has one, e.g. from NodeSource, keeps it).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || DEB_PACKAGES+=(nodejs npm)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # The packages' own services (mosquitto, pcscd) are not wanted as system daemons:
  # the demo and the tests start their own instances on free ports / own sockets.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# Three distributions, installed editable together: the terminal's (kiosk, firmware_bridge,
# hall_common), the reference central network (central/) and the demo and test harness (demo/).
stamp=.venv/.project-stamp
want=$(cat pyproject.toml central/pyproject.toml demo/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]' -e ./central -e ./demo
  echo "$want" > "$stamp"
fi
# The touchscreens' compiled catalogues (.mo) are build outputs, not committed: made from the .po
# files here (rewritten only when they change), in the test session, and in the wheel's build.
.venv/bin/python -m tools.i18n compile
echo "setup: ok"
