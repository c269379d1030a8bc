#!/usr/bin/env bash
# Install what the tests need (venv, npm emulators, chromium), lint and type-check, then run the whole suite.
# pytest arguments pass through (`bash scripts/test.sh tests/unit -q`); ruff and mypy always run first (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements-dev.txt --test-tools)
"$venv/bin/python" -m ruff check .
"$venv/bin/python" -m mypy
exec "$venv/bin/python" -m pytest "$@"
