#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:7071/api with the embedded store (no cloud, no emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements.txt)
exec "$venv/bin/python" -m shared.devhost "$@"
