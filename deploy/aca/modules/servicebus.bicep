// The Service Bus namespace behind the `domain-events` pub/sub (pubsub.azure.servicebus.topics): its
// topics and each subscriber app's subscription, with dead-letter forwarding. The template creates them
// all: the component runs with disableEntityManagement (components/azure/domain-events.yaml), so the
// apps' identity never needs the Manage right. Local (SAS) auth is off: everything uses Entra ID.

@description('Azure region.')
param location string

@description('Namespace name (6-50 letters, digits and dashes; globally unique).')
param name string

@description('Topics to create: every topic a publisher uses, and every dead-letter topic a subscription names.')
param topics array

@description('Subscriptions to create: {topic, app, deadLetterTopic}. The name is the app id (daprd\'s consumerID); deadLetterTopic may be empty.')
param subscriptions array = []

@description('Log Analytics workspace for the namespace\'s operational logs.')
param workspaceId string

// A subscription's peek-lock: how long a message a crashed sidecar held stays invisible (the component
// renews the lock while its handler runs). 60 s, as the queues' visibility timeout.
var lockDuration = 'PT1M'
// Deliveries before Service Bus dead-letters a message (its default). They count sidecar crashes, and
// RETRYs only when the app's subscription names no dead-letter topic (daprd abandons the message then,
// and Service Bus delivers it again at once); Dapr resiliency, not this count, spaces retries.
var maxDeliveryCount = 10
// As the output queues' ttlInSeconds (604800): an event nobody consumed within 7 days is dead-lettered
// (deadLetteringOnMessageExpiration), never dropped.
var messageTimeToLive = 'P7D'

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  // Standard: topics need it (Basic has queues only). Premium would add private endpoints and zones.
  name: name
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    // As the storage account: a consumption environment without a virtual network has no private path.
    publicNetworkAccess: 'Enabled'
  }
}

// No duplicate detection: daprd sets a message id only when the publisher passes one, and handlers are
// idempotent anyway (at-least-once delivery).
resource busTopics 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = [for topic in topics: {
  parent: namespace
  name: topic
  properties: {
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
  }
}]

// A topic with no subscription drops what is published to it: a dead-letter topic needs its own
// subscriber (the audit archive) before anything is forwarded to it.
resource busSubscriptions 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = [for sub in subscriptions: {
  name: '${namespace.name}/${sub.topic}/${sub.app}'
  dependsOn: [
    busTopics
  ]
  properties: {
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    forwardDeadLetteredMessagesTo: empty(sub.deadLetterTopic) ? null : sub.deadLetterTopic
  }
}]

resource busLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'bus-logs'
  scope: namespace
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

output name string = namespace.name
output id string = namespace.id
// The fully qualified host name the component's namespaceName takes (<name>.servicebus.windows.net in
// the public cloud), read from the namespace so that other clouds work too.
output host string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
