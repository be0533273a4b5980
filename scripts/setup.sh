#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine with Python 3.11:
# Chromium (browser tests, static figure export) and a virtual environment in .venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/noto ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null
fi

PY="$(command -v python3.11 || command -v python3)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
STAMP=.venv/.requirements.sha256
WANT="$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  # torch first and pinned: the CPU build of 2.13.0 lies on this disk; anything else pulls CUDA.
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  # medspaCy and PyRuSH pin an old spaCy in their metadata that breaks on numpy 2.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
  echo "$WANT" > "$STAMP"
fi
