// One Bindery function as a Dapr-enabled container app. Binding-triggered apps speak gRPC to their
// sidecar and scale on the length of the queues they read and on the backlog of the topic
// subscriptions they hold (KEDA `azure-servicebus`, signed in as the scalers' own identity); the
// webhooks (email-webhook, stripe-webhook) are plain HTTP apps with external ingress, scaled on concurrent requests.
//
// No APP_API_TOKEN is set here: Container Apps generates one per revision and gives it to both the app
// and its daprd, which sends it with every call to the app (bindings/guard.py checks it).

@description('Azure region.')
param location string

@description('Dapr app id, also the container app\'s name.')
param name string

@description('Image reference (registry/bindery-<app>:<tag>).')
param image string

@description('Container Apps environment id.')
param environmentId string

@description('Registry login server the image is pulled from.')
param registryServer string

@description('User-assigned managed identity: image pulls, Key Vault references, KEDA, the bindings.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID for the Azure SDKs in the app).')
param identityClientId string

@description('Storage account whose queues drive the scale rules.')
param storageAccountName string

@description('Key Vault URI (ends with a slash).')
param vaultUri string

@description('Port the app listens on (APP_PORT).')
param appPort int

@description('grpc for FunctionApps, http for the webhooks.')
@allowed([
  'grpc'
  'http'
])
param appProtocol string

@description('Public HTTP ingress (the webhooks only).')
param external bool = false

@description('Replicas kept running: at least 1 for apps with a cron trigger (no replica, no sidecar, no tick).')
param minReplicas int = 0

param maxReplicas int = 3

@description('Queues whose length scales the app (its input queues).')
param queues array = []

@description('Messages per replica before another replica is added.')
param queueLength int = 5

@description('Topics the app subscribes to on domain-events: its subscription (named by the app id) on each scales it.')
param topics array = []

@description('Service Bus namespace name (not host) of those subscriptions.')
param serviceBusName string = ''

@description('The scalers\' identity (modules/scaler.bicep, Data Owner on the namespace): the topic rules only.')
param scalerIdentityId string = ''

@description('Messages in a subscription per replica before another replica is added.')
param messageCount int = 5

@description('Extra environment variables ({name, value} or {name, secretRef}).')
param env array = []

@description('Key Vault secrets the app reads as environment variables (secretRef in env).')
param secrets array = []

var queueRules = [for queue in queues: {
  name: 'queue-${queue}'
  azureQueue: {
    accountName: storageAccountName
    queueName: queue
    queueLength: queueLength
    identity: identityId
  }
}]
// KEDA's Service Bus scaler counts the subscription's active messages through the management API (the
// Manage right), so it signs in as the scalers' identity, never the apps' shared one.
var topicRules = [for topic in topics: {
  name: 'topic-${topic}'
  custom: {
    type: 'azure-servicebus'
    metadata: {
      namespace: serviceBusName
      topicName: topic
      subscriptionName: name
      messageCount: string(messageCount)
    }
    identity: scalerIdentityId
  }
}]
// A scale rule may only name an identity assigned to the app. The scalers' is assigned with lifecycle
// None: available to the platform (KEDA), not to the app's containers, which keep the apps' identity.
var scales = !empty(topics)
var scalerIdentities = scales ? { '${scalerIdentityId}': {} } : {}
var identitySettings = scales ? [
  {
    identity: scalerIdentityId
    lifecycle: 'None'
  }
] : []
var httpRules = external ? [
  {
    name: 'http'
    http: {
      metadata: {
        concurrentRequests: '50'
      }
    }
  }
] : []
var webhookProbes = [
  {
    type: 'Liveness'
    httpGet: {
      path: '/healthz'
      port: appPort
    }
  }
  {
    type: 'Readiness'
    httpGet: {
      path: '/healthz'
      port: appPort
    }
  }
]

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: union({ '${identityId}': {} }, scalerIdentities)
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      identitySettings: identitySettings
      dapr: {
        enabled: true
        appId: name
        appPort: appPort
        appProtocol: appProtocol
        enableApiLogging: false
        logLevel: 'info'
      }
      ingress: external ? {
        external: true
        targetPort: appPort
        transport: 'http'
        allowInsecure: false
      } : null
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [for secret in secrets: {
        name: secret
        keyVaultUrl: '${vaultUri}secrets/${secret}'
        identity: identityId
      }]
    }
    template: {
      containers: [
        {
          name: name
          image: image
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
          }
          env: concat(env, [
            {
              name: 'APP_PORT'
              value: string(appPort)
            }
            {
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
          ])
          probes: external ? webhookProbes : []
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: concat(queueRules, topicRules, httpRules)
      }
    }
  }
}

output name string = app.name
output fqdn string = external ? app.properties.configuration.ingress.fqdn : ''
