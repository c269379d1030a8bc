#!/usr/bin/env bash
# Idempotent set-up shared by scripts/run.sh and scripts/test.sh: a venv with pinned packages, and (for tests)
# the npm emulators and Debian's chromium. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv

req_file=${1:-requirements.txt}
stamp=.venv/.installed-$(cat requirements.txt "$req_file" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req_file"
  touch "$stamp"
fi

if [ "${2:-}" = "--test-tools" ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  fi
  bash scripts/install-checkov.sh
fi
