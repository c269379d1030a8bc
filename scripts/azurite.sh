#!/usr/bin/env bash
# Full Azurite (blob :10000, queue :10001, table :10002) for `func start`: AzureWebJobsStorage
# (UseDevelopmentStorage=true) needs all three (the timer's schedule monitor, the blob extension's receipts).
# Data persists under .localdata/azurite. Foreground; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/azurite ] || npm ci --no-audit --no-fund --loglevel=error
mkdir -p .localdata/azurite
exec node_modules/.bin/azurite --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  --blobPort "${AZURITE_BLOB_PORT:-10000}" --queuePort "${AZURITE_QUEUE_PORT:-10001}" \
  --tablePort "${AZURITE_TABLE_PORT:-10002}" --location .localdata/azurite --skipApiVersionCheck \
  --disableTelemetry --silent "$@"
