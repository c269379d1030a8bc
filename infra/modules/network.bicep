// Network isolation (main.bicep networkIsolation): a VNet whose `app` subnet the Function App integrates
// with (Flex Consumption: delegated to Microsoft.App/environments), and private endpoints in the
// `private-endpoints` subnet for Cosmos DB, Key Vault and the storage account (blob, queue, table), each
// registered in its private DNS zone linked to the VNet. The data services then turn public access off.
// Application Insights / Log Analytics stay on public ingestion (no secrets or user data go there).

param name string
param location string
param tags object = {}

@description('Address space of the VNet.')
param addressPrefix string = '10.40.0.0/16'

@description('Subnet the Function App integrates with (inside addressPrefix; Flex needs at least a /27).')
param appSubnetPrefix string = '10.40.0.0/24'

@description('Subnet of the private endpoints (inside addressPrefix).')
param endpointSubnetPrefix string = '10.40.1.0/24'

param cosmosAccountId string
param keyVaultId string
param storageAccountId string

// One private endpoint per (service, sub-resource), each with its own privatelink DNS zone (per cloud where
// environment() names the suffix).
var storageSuffix = environment().suffixes.storage
var endpoints = [
  {
    name: 'cosmos'
    target: cosmosAccountId
    groupId: 'Sql'
    zone: 'privatelink.documents.azure.com' // no environment() suffix for Cosmos DB: public cloud
  }
  {
    name: 'vault'
    target: keyVaultId
    groupId: 'vault'
    zone: 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'
  }
  {
    name: 'blob'
    target: storageAccountId
    groupId: 'blob'
    zone: 'privatelink.blob.${storageSuffix}'
  }
  {
    name: 'queue'
    target: storageAccountId
    groupId: 'queue'
    zone: 'privatelink.queue.${storageSuffix}'
  }
  {
    name: 'table'
    target: storageAccountId
    groupId: 'table'
    zone: 'privatelink.table.${storageSuffix}'
  }
]

resource vnet 'Microsoft.Network/virtualNetworks@2025-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: endpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource dnsZones 'Microsoft.Network/privateDnsZones@2024-06-01' = [for ep in endpoints: {
  name: ep.zone
  location: 'global'
  tags: tags
}]

resource dnsLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [for (ep, i) in endpoints: {
  parent: dnsZones[i]
  name: vnet.name
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-09-01' = [for ep in endpoints: {
  name: '${name}-${ep.name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: vnet.properties.subnets[1].id
    }
    privateLinkServiceConnections: [
      {
        name: ep.name
        properties: {
          privateLinkServiceId: ep.target
          groupIds: [
            ep.groupId
          ]
        }
      }
    ]
  }
}]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-09-01' = [for (ep, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: ep.name
        properties: {
          privateDnsZoneId: dnsZones[i].id
        }
      }
    ]
  }
}]

output appSubnetId string = vnet.properties.subnets[0].id
output vnetId string = vnet.id
output privateDnsZones array = [for ep in endpoints: ep.zone]
