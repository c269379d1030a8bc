// localStorage -> Cosmos DB migration service: everything it runs on, in one resource group.
//   azd up                                   (azure.yaml at the repo root; parameters: main.parameters.json)
//   az deployment group create -g RG -f infra/main.bicep -p ...   (see the README, "Deploying to Azure")
//
// One user-assigned managed identity serves every connection (Cosmos DB, Key Vault, Blob/Queue/Table
// storage, Application Insights): Cosmos keys, storage shared keys and App Insights local auth are all off.
// No output of this file is a key or a connection string.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources (must offer the Flex Consumption plan).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional: object id of the deploying user/principal; gets data roles so local runs can use the Azure resources. Empty: none.')
param principalId string = ''

@description('Kind of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Browser origins of the frontend allowed to call the API (CORS).')
param corsAllowedOrigins array = []

@description('Cosmos DB capacity: serverless (default, pay per RU) or autoscale (provisioned RU/s).')
@allowed([
  'serverless'
  'autoscale'
])
param cosmosThroughputMode string = 'serverless'

@description('Autoscale only: maximum RU/s of the container (scales down to 10% of it).')
@minValue(1000)
@maxValue(1000000)
param cosmosAutoscaleMaxThroughput int = 1000

@description('Days a migration backup blob is kept before the lifecycle rule deletes it.')
@minValue(1)
@maxValue(3650)
param backupRetentionDays int = 90

@description('Create the Event Grid subscription that triggers record_backup. Needs the app code deployed first (its blobs_extension key); the azd postdeploy hook sets it.')
param enableBackupEventSubscription bool = false

@description('Flex Consumption: maximum number of instances.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

// Memory and HTTP concurrency per instance are chosen together (tests/infra/test_flex.py holds the budget):
// MIGRATION_CONCURRENCY migrations hold their parsed payload at once, the other admitted requests their raw body.
@description('Flex Consumption: memory per instance.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 4096

@description('Flex Consumption: concurrent HTTP requests per instance (Python default: 1). Equal to host.json extensions.http.maxConcurrentRequests.')
@minValue(1)
@maxValue(1000)
param functionHttpPerInstanceConcurrency int = 8

@description('Network isolation: on puts Cosmos DB, Key Vault and Storage behind private endpoints in a VNet the app integrates with, public network access off; auto turns it on for environments named prod*.')
@allowed([
  'auto'
  'on'
  'off'
])
param networkIsolation string = 'auto'

@description('Network isolation only: address space of the VNet and its two subnets (app integration, private endpoints).')
param vnetAddressPrefix string = '10.40.0.0/16'
param vnetAppSubnetPrefix string = '10.40.0.0/24'
param vnetPrivateEndpointSubnetPrefix string = '10.40.1.0/24'

@description('E-mail address of the action group that receives the alerts. Empty: the alerts fire without notifying anyone.')
param alertEmail string = ''

@description('Days Log Analytics keeps logs (App Insights data included).')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// --- app behaviour (app settings; the defaults equal the code defaults in shared/settings.py) ----------
// The sign-in host differs per cloud (public, US Gov, China): environment() gives it, with a trailing slash.
@description('AUTH_ISSUER: expected token issuer; {tid} is replaced by the token\'s tenant (multi-tenant app).')
param authIssuer string = '${environment().authentication.loginEndpoint}{tid}/v2.0'

@description('AUTH_AUDIENCE: the API\'s application id URI (audience of the access tokens).')
param authAudience string = 'api://agent-platform-migration'

@description('AUTH_JWKS_URL: signing keys of the token issuer.')
param authJwksUrl string = '${environment().authentication.loginEndpoint}common/discovery/v2.0/keys'

@description('AUTH_TENANT_CLAIM: token claim holding the tenant id.')
param authTenantClaim string = 'tid'

@description('AUTH_USER_CLAIM: token claim holding the user id.')
param authUserClaim string = 'oid'

@description('AUTH_ADMIN_ROLE: app role required by the ops routes.')
param authAdminRole string = 'Migration.Admin'

@description('AUTH_ADMIN_TENANTS: comma list of tenant ids whose admins may operate every tenant (default: the deploying tenant).')
param authAdminTenants string = tenant().tenantId

@description('MIGRATION_ROLLOUT_TENANTS: * for every tenant, or a comma-separated list of tenant ids (staged rollout).')
param migrationRolloutTenants string = '*'

@description('SWEEP_SCHEDULE: NCRONTAB (six fields, seconds first) of the metrics + validation timer.')
param sweepSchedule string = '0 */15 * * * *'

@description('SWEEP_SAMPLE_SIZE: older migrations re-validated per sweep.')
@minValue(0)
param sweepSampleSize int = 20

@description('WRITE_CONCURRENCY: concurrent Cosmos upserts per migration.')
@minValue(1)
@maxValue(256)
param writeConcurrency int = 16

@description('SECRET_CONCURRENCY: concurrent Key Vault writes per migration.')
@minValue(1)
@maxValue(64)
param secretConcurrency int = 8

// --- names -------------------------------------------------------------------------------------------
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}

// The code's defaults (shared/settings.py, shared/cosmos_layout.py); tests/infra checks they agree.
var cosmosDatabaseName = 'agentplatform'
var cosmosContainerName = 'userdata'
var backupContainerName = 'backups'
var deploymentContainerName = 'app-package'

// Production environments are isolated unless told otherwise (README, "Network isolation").
var isolated = networkIsolation == 'on' || (networkIsolation == 'auto' && startsWith(toLower(environmentName), 'prod'))

var roles = {
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// --- identity and monitoring (Azure Verified Modules where they fit, pinned) --------------------------
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.6.0' = {
  name: 'identity'
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

// A plain resource: the AVM workspace module's defaults (e.g. forceCmkForQuery) differ between versions.
resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

module appInsights 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'app-insights'
  params: {
    name: 'appi-${resourceToken}'
    location: location
    tags: tags
    kind: 'web'
    applicationType: 'web'
    workspaceResourceId: logAnalytics.id
    // Entra ID auth only: telemetry needs a token of a principal with Monitoring Metrics Publisher.
    disableLocalAuth: true
    roleAssignments: [
      {
        roleDefinitionIdOrName: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

// --- data ----------------------------------------------------------------------------------------------
module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    backupContainerName: backupContainerName
    backupRetentionDays: backupRetentionDays
    systemTopicName: 'evgt-${resourceToken}'
    isolated: isolated
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    accountName: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    containerName: cosmosContainerName
    throughputMode: cosmosThroughputMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    isolated: isolated
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'key-vault'
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: logAnalytics.id
    isolated: isolated
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module network 'modules/network.bicep' = if (isolated) {
  name: 'network'
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: vnetAppSubnetPrefix
    endpointSubnetPrefix: vnetPrivateEndpointSubnetPrefix
    cosmosAccountId: cosmos.outputs.resourceId
    keyVaultId: keyVault.outputs.resourceId
    storageAccountId: storage.outputs.resourceId
  }
}

// --- the app ---------------------------------------------------------------------------------------------
module functionApp 'modules/functionapp.bicep' = {
  name: 'function-app'
  params: {
    name: 'func-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    backupContainerName: backupContainerName
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    cosmosContainerName: cosmos.outputs.containerName
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsConnectionString: appInsights.outputs.connectionString
    corsAllowedOrigins: corsAllowedOrigins
    authIssuer: authIssuer
    authAudience: authAudience
    authJwksUrl: authJwksUrl
    authTenantClaim: authTenantClaim
    authUserClaim: authUserClaim
    authAdminRole: authAdminRole
    authAdminTenants: authAdminTenants
    migrationRolloutTenants: migrationRolloutTenants
    sweepSchedule: sweepSchedule
    sweepSampleSize: sweepSampleSize
    writeConcurrency: writeConcurrency
    secretConcurrency: secretConcurrency
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    httpPerInstanceConcurrency: functionHttpPerInstanceConcurrency
    appSubnetId: isolated ? network.outputs.appSubnetId : ''
  }
}

// --- alerts on the plan's success criteria (modules/alerts.bicep) ----------------------------------------
module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: 'alert-${resourceToken}'
    location: location
    tags: tags
    applicationInsightsId: appInsights.outputs.resourceId
    alertEmail: alertEmail
  }
}

// Second pass (after the code is deployed): Event Grid -> record_backup. See modules/backup-events.bicep.
module backupEvents 'modules/backup-events.bicep' = if (enableBackupEventSubscription) {
  name: 'backup-events'
  params: {
    functionAppName: functionApp.outputs.name
    systemTopicName: storage.outputs.systemTopicName
    backupContainerName: backupContainerName
    functionName: 'record_backup'
  }
}

// --- outputs: names and endpoints only (azd stores them in .azure/<env>/.env) ---------------------------
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_COSMOS_DATABASE string = cosmos.outputs.databaseName
output AZURE_COSMOS_CONTAINER string = cosmos.outputs.containerName
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_BACKUP_CONTAINER string = backupContainerName
output AZURE_BACKUP_SYSTEM_TOPIC_NAME string = storage.outputs.systemTopicName
output BACKUP_EVENT_SUBSCRIPTION_ENABLED bool = enableBackupEventSubscription
output NETWORK_ISOLATED bool = isolated
