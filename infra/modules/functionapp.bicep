// The Function App on the Flex Consumption plan (FC1, Linux, Python 3.11). Every connection uses the
// user-assigned managed identity: identity-based settings only, no key or connection string (the one
// exception is the Application Insights connection string, which is an ingestion address, not a secret;
// with local auth disabled on the component it is useless without an Entra token).
//
// The app settings below are every setting shared/settings.py reads, except the documented local-only ones
// (tests/infra/test_bicep_settings.py holds that allow-list and checks both directions).

param name string
param planName string
param location string
param tags object = {}

@description('Resource id of the user-assigned managed identity.')
param identityResourceId string

@description('Client id of the user-assigned managed identity (not a secret).')
param identityClientId string

@description('Primary endpoints of the storage account (with a trailing slash).')
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string

param deploymentContainerName string
param backupContainerName string

param cosmosEndpoint string
param cosmosDatabaseName string
param cosmosContainerName string

param keyVaultUri string

@description('Application Insights connection string (an address, not a secret: local auth is disabled).')
param applicationInsightsConnectionString string

@description('Browser origins allowed to call the API (CORS), e.g. https://app.example.com.')
param corsAllowedOrigins array

param authIssuer string
param authAudience string
param authJwksUrl string
param authTenantClaim string
param authUserClaim string
param authAdminRole string

@description('AUTH_ADMIN_TENANTS: comma list of the tenants whose admins may use the ops routes.')
param authAdminTenants string

param migrationRolloutTenants string
param sweepSchedule string
param sweepSampleSize int
param writeConcurrency int
param secretConcurrency int

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Concurrent HTTP requests routed to one instance; without it Flex sends Python apps one at a time.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 8

@description('Network isolation: resource id of the VNet subnet the app integrates with (outbound traffic goes through the VNet). Empty: none.')
param appSubnetId string = ''

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      ftpsState: 'Disabled'
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
      appSettings: [
        // --- Functions host storage, identity-based -------------------------------------------------
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storageBlobEndpoint
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storageQueueEndpoint
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storageTableEndpoint
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // --- Application Insights with Entra ID auth (local auth is disabled on the component) ----------
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'Authorization=AAD;ClientId=${identityClientId}'
        }
        // --- which adapter serves each port ------------------------------------------------------------
        {
          name: 'DOCUMENT_STORE'
          value: 'cosmos'
        }
        {
          name: 'SECRET_STORE'
          value: 'keyvault'
        }
        {
          name: 'BACKUP_STORE'
          value: 'blob'
        }
        // --- Cosmos DB -----------------------------------------------------------------------------------
        {
          name: 'COSMOS__accountEndpoint'
          value: cosmosEndpoint
        }
        {
          name: 'COSMOS__credential'
          value: 'managedidentity'
        }
        {
          name: 'COSMOS__clientId'
          value: identityClientId
        }
        {
          name: 'COSMOS_DATABASE'
          value: cosmosDatabaseName
        }
        {
          name: 'COSMOS_CONTAINER'
          value: cosmosContainerName
        }
        // --- Blob storage (backups); also the connection of the record_backup blob trigger ------------
        {
          name: 'BACKUP_STORAGE__blobServiceUri'
          value: storageBlobEndpoint
        }
        {
          // Not read by the code: the blob trigger extension needs it for its poison queue.
          name: 'BACKUP_STORAGE__queueServiceUri'
          value: storageQueueEndpoint
        }
        {
          name: 'BACKUP_STORAGE__credential'
          value: 'managedidentity'
        }
        {
          name: 'BACKUP_STORAGE__clientId'
          value: identityClientId
        }
        {
          name: 'BACKUP_CONTAINER'
          value: backupContainerName
        }
        // --- Key Vault -----------------------------------------------------------------------------------
        {
          name: 'KEY_VAULT__vaultUri'
          value: keyVaultUri
        }
        {
          name: 'KEY_VAULT__clientId'
          value: identityClientId
        }
        // --- auth (Microsoft Entra ID access tokens) ---------------------------------------------------
        {
          name: 'AUTH_MODE'
          value: 'entra'
        }
        {
          name: 'AUTH_ISSUER'
          value: authIssuer
        }
        {
          name: 'AUTH_AUDIENCE'
          value: authAudience
        }
        {
          name: 'AUTH_JWKS_URL'
          value: authJwksUrl
        }
        {
          name: 'AUTH_TENANT_CLAIM'
          value: authTenantClaim
        }
        {
          name: 'AUTH_USER_CLAIM'
          value: authUserClaim
        }
        {
          name: 'AUTH_ADMIN_ROLE'
          value: authAdminRole
        }
        {
          name: 'AUTH_ADMIN_TENANTS'
          value: authAdminTenants
        }
        {
          name: 'AUTH_JWKS_CACHE_SECONDS'
          value: '3600'
        }
        // --- HTTP ----------------------------------------------------------------------------------------
        {
          name: 'CORS_ALLOWED_ORIGINS'
          value: join(corsAllowedOrigins, ',')
        }
        {
          name: 'MAX_BODY_BYTES'
          value: '33554432'
        }
        {
          name: 'MAX_JSON_DEPTH'
          value: '32'
        }
        // --- migration behaviour -------------------------------------------------------------------------
        {
          name: 'MIGRATION_LEASE_SECONDS'
          value: '120'
        }
        {
          name: 'WRITE_CONCURRENCY'
          value: string(writeConcurrency)
        }
        {
          name: 'SECRET_CONCURRENCY'
          value: string(secretConcurrency)
        }
        {
          name: 'MIGRATION_CONCURRENCY'
          value: '4'
        }
        {
          name: 'MAX_DOCUMENT_BYTES'
          value: '1500000'
        }
        {
          name: 'MAX_DOCUMENTS_PER_MIGRATION'
          value: '100000'
        }
        {
          name: 'MAX_ITEMS_PER_KEY'
          value: '20000'
        }
        {
          name: 'MAX_SECRETS_PER_MIGRATION'
          value: '2000'
        }
        {
          name: 'MAX_KEYS_PER_MIGRATION'
          value: '10000'
        }
        {
          name: 'MIGRATION_ROLLOUT_TENANTS'
          value: migrationRolloutTenants
        }
        {
          name: 'SWEEP_SCHEDULE'
          value: sweepSchedule
        }
        {
          name: 'SWEEP_SAMPLE_SIZE'
          value: string(sweepSampleSize)
        }
      ]
    }
  }

  // Publishing goes through Entra ID (azd deploy, az functionapp deployment, func publish): no basic auth.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output uri string = 'https://${functionApp.properties.defaultHostName}'
