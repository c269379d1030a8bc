#!/bin/sh
# azd postdeploy hook: the first `azd up` of an environment deploys the infra without the Event Grid
# subscription (the function's blobs_extension key does not exist before the code is deployed). Once the
# code is deployed, switch the subscription on and provision again. Later runs find it on and do nothing.
set -eu
if [ "${ENABLE_BACKUP_EVENT_SUBSCRIPTION:-false}" = "true" ]; then
  echo "Backup event subscription already enabled for this environment."
  exit 0
fi
echo "Enabling the Event Grid subscription for record_backup and provisioning again..."
azd env set ENABLE_BACKUP_EVENT_SUBSCRIPTION true
azd provision --no-prompt
