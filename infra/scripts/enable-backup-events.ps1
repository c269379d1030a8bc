# azd postdeploy hook (Windows): see enable-backup-events.sh.
$ErrorActionPreference = 'Stop'
if ($env:ENABLE_BACKUP_EVENT_SUBSCRIPTION -eq 'true') {
  Write-Host 'Backup event subscription already enabled for this environment.'
  exit 0
}
Write-Host 'Enabling the Event Grid subscription for record_backup and provisioning again...'
azd env set ENABLE_BACKUP_EVENT_SUBSCRIPTION true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd provision --no-prompt
exit $LASTEXITCODE
