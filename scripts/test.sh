#!/usr/bin/env bash
# Install what the tests need (venv, npm emulators, chromium) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements-dev.txt --test-tools)
exec "$venv/bin/python" -m pytest "$@"
