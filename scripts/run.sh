#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:7071/api with the embedded store (no cloud, no emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements-dev.txt)  # the local host needs croniter (dev-only)
exec "$venv/bin/python" -m shared.devhost "$@"
