// The storage account: every queue and container the Dapr components use, and the Event Grid route that
// turns `orders/` blobs created in `documents` into messages on the `blob-events` queue.
// Nothing authenticates with account keys: the apps, KEDA and Event Grid all use Entra ID identities.

@description('Azure region.')
param location string

@description('Storage account name (3-24 lowercase letters and digits).')
param name string

@description('Queues to create.')
param queues array

@description('Blob containers to create.')
param containers array

@description('The queue Event Grid delivers BlobCreated events to.')
param blobEventsQueue string

@description('Subject prefix of the blobs whose creation is delivered (Event Grid subject syntax).')
param blobEventsSubjectPrefix string

@description('Log Analytics workspace for the storage services\' logs.')
param workspaceId string

// Storage Queue Data Message Sender: Event Grid delivers to the queue with its own identity.
var queueMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
// Event Grid's queue messages live as long as the Dapr output queues' (ttlInSeconds: 604800).
var messageTtlSeconds = 604800

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:A consumption Container Apps environment without a virtual network reaches storage over its public endpoint (and KEDA's queue scaler with it); every caller authenticates with Entra ID, shared keys are off. Put the environment in a virtual network with private endpoints to deny by default.
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the apps have no private path to the account; anonymous and shared-key access are off.
  // checkov:skip=CKV_AZURE_206:Locally redundant on purpose for a dev deployment: queues hold transient messages and every receipt can be re-rendered (deterministic names); choose Standard_GZRS for production.
  name: name
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for container in containers: {
  parent: blobService
  name: container
  properties: {
    publicAccess: 'None'
  }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource storageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queue in queues: {
  parent: queueService
  name: queue
}]

resource queueLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'queue-logs'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource blobLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'blob-logs'
  scope: blobService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${name}-events'
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource topicSendsToQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, topic.id, queueMessageSender)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageSender)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// One event per queue message, in the Event Grid schema; Event Grid base64-encodes the JSON it writes to
// a storage queue, and the app decodes it (the Dapr components keep decodeBase64 off).
resource blobCreated 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'orders-to-${blobEventsQueue}'
  dependsOn: [
    storageQueues
    topicSendsToQueues
  ]
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: blobEventsSubjectPrefix
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: account.id
          queueName: blobEventsQueue
          queueMessageTimeToLiveInSeconds: messageTtlSeconds
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
