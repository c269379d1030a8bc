#!/usr/bin/env bash
# checkov (Bicep posture scan, tests/infra/test_checkov.py) in its own venv: its dependency tree conflicts
# with the app's pins, so it never enters .venv. Idempotent: skipped when the pinned version is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION=3.3.30
PY=${PYTHON:-python3}
stamp=.venv-checkov/.installed-checkov-$CHECKOV_VERSION
[ -f "$stamp" ] && exit 0
[ -x .venv-checkov/bin/python ] || "$PY" -m venv .venv-checkov
.venv-checkov/bin/python -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
touch "$stamp"
