#!/usr/bin/env bash
# Install what the tests need (venv, npm emulators, chromium), lint and type-check, then run the whole suite.
# pytest arguments pass through (`bash scripts/test.sh tests/unit -q`); ruff and mypy always run first (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements-dev.txt --test-tools)
# TEMPORARY (issue 13): these parts are being changed on other branches and are not clean yet; the checks skip them
# until the lead's merge fixes what the tidy branch's report lists, then this list goes (and both run unscoped).
pending=(migration)
"$venv/bin/python" -m ruff check . --extend-exclude "$(IFS=,; echo "${pending[*]}")"
"$venv/bin/python" -m mypy --follow-imports=silent function_app.py shared devtools
exec "$venv/bin/python" -m pytest "$@"
