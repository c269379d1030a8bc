#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:7071/api against local stand-ins of the Azure services: the Cosmos DB
# stand-in (@vercel/cosmosdb-server), Azurite (Blob) and the Key Vault protocol stand-in. New backup blobs in
# Azurite trigger the blob function through the local host's watcher.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash scripts/bootstrap.sh requirements-dev.txt --test-tools)
mkdir -p .localdata
envfile=.localdata/emulators.env
rm -f "$envfile"
"$venv/bin/python" -m tests.support.emulators > "$envfile" &
emulators=$!
trap 'kill $emulators 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 150); do
  grep -q KEY_VAULT "$envfile" 2>/dev/null && break
  kill -0 $emulators 2>/dev/null || { echo "emulators failed to start" >&2; exit 1; }
  sleep 0.2
done
# shellcheck disable=SC1090
source "$envfile"
echo "emulators up; settings in $envfile" >&2
"$venv/bin/python" -m shared.devhost "$@"
