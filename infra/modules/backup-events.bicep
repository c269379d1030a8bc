// Event Grid subscription: BlobCreated events of the backups container -> the Functions blob extension
// webhook of `record_backup` (blob trigger with source=EVENT_GRID, path backups/{name}, connection
// BACKUP_STORAGE; the Flex Consumption plan has no polling blob trigger).
//
// The webhook URL carries the host's `blobs_extension` system key. That key exists only once the app
// package with the blob trigger has been deployed and the host has started, and Event Grid validates the
// endpoint when the subscription is created: so main.bicep deploys this module only when
// enableBackupEventSubscription is true (the azd postdeploy hook turns it on after the first deploy).
// The key is read here, inside the subscription resource, and is never an output.

param functionAppName string
param systemTopicName string

@description('Container whose blob-created events trigger the function (BACKUP_CONTAINER).')
param backupContainerName string

@description('Name of the blob-triggered function in function_app.py.')
param functionName string = 'record_backup'

resource functionApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource recordBackup 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: 'record-backup'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${listKeys('${functionApp.id}/host/default', '2025-03-01').systemKeys.blobs_extension}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${backupContainerName}/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output subscriptionName string = recordBackup.name
