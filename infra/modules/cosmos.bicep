// Cosmos DB for NoSQL: one account, one database, one container with the hierarchical partition key and
// the write-cheap indexing policy of shared/cosmos_layout.py (tests/infra compares them). Keys are off
// (disableLocalAuth): the app's identity gets the built-in data-plane "Data Contributor" role.
// With keys off the SDK cannot create databases or containers: they exist because this file creates them.

param accountName string
param location string
param tags object = {}

@description('Must equal the code default of COSMOS_DATABASE.')
param databaseName string

@description('Must equal the code default of COSMOS_CONTAINER.')
param containerName string

@description('serverless (pay per RU, the default) or autoscale (provisioned, scales between 10% and 100% of the max).')
@allowed([
  'serverless'
  'autoscale'
])
param throughputMode string = 'serverless'

@description('Autoscale only: the container\'s maximum RU/s.')
@minValue(1000)
@maxValue(1000000)
param autoscaleMaxThroughput int = 1000

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param identityPrincipalId string

@description('Optional: principal id of the deploying user, for local runs against Azure. Empty: no assignment.')
param userPrincipalId string = ''

@description('Network isolation: reachable only through private endpoints (public network access off).')
param isolated bool = false

// Built-in "Cosmos DB Built-in Data Contributor" (data plane, not an Azure RBAC role).
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

// Same as shared/cosmos_layout.py: PARTITION_KEY_PATHS, PARTITION_KEY_KIND, PARTITION_KEY_VERSION.
var partitionKey = {
  paths: [
    '/tenantId'
    '/userId'
  ]
  kind: 'MultiHash'
  version: 2
}

// Same as shared/cosmos_layout.py INDEXING_POLICY: only the small fields queries filter on are indexed;
// payloads (data, message content, raw values, chunks) stay out of the index, which keeps write RU low.
var indexingPolicy = {
  indexingMode: 'consistent'
  automatic: true
  includedPaths: [
    {
      path: '/type/?'
    }
    {
      path: '/tenantId/?'
    }
    {
      path: '/userId/?'
    }
    {
      path: '/migrationId/?'
    }
    {
      path: '/sourceKey/?'
    }
    {
      path: '/status/?'
    }
    {
      path: '/completedAt/?'
    }
    {
      path: '/sessionId/?'
    }
    {
      path: '/sequence_number/?'
    }
    {
      path: '/sampleKey/?'
    }
    {
      path: '/day/?'
    }
    {
      path: '/createdAt/?'
    }
  ]
  excludedPaths: [
    {
      path: '/*'
    }
    {
      path: '/"_etag"/?'
    }
  ]
}

resource account 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    capabilities: throughputMode == 'serverless' ? [
      {
        name: 'EnableServerless'
      }
    ] : []
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: isolated ? 'Disabled' : 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2026-03-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource container 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: partitionKey
      indexingPolicy: indexingPolicy
      defaultTtl: -1 // items live forever unless they carry a ttl (the counters' receipts do): shared/cosmos_layout.py
    }
    options: throughputMode == 'autoscale' ? {
      autoscaleSettings: {
        maxThroughput: autoscaleMaxThroughput
      }
    } : {}
  }
}

resource appDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = {
  parent: account
  name: guid(account.id, identityPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: identityPrincipalId
    scope: account.id
  }
}

resource userDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = if (!empty(userPrincipalId)) {
  parent: account
  name: guid(account.id, userPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: userPrincipalId
    scope: account.id
  }
}

output name string = account.name
output resourceId string = account.id
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerName string = container.name
