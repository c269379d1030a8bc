#!/usr/bin/env bash
# Refresh tests/infra/data/ (Azure resource type definitions, AVM module definitions, azd/host/local.settings
# JSON schemas) for the resource types, API versions and modules infra/ uses now. Run after changing an API
# version or module version, then run tests/infra and commit the data with the Bicep change.
#   bash scripts/refresh-infra-types.sh                       # clones the sources into .cache/infra-types
#   bash scripts/refresh-infra-types.sh --types DIR --avm DIR --azd DIR --schemastore DIR   # bare git dirs
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m tests.infra.refresh_types "$@"
