// Bindery on Azure Container Apps: one resource group holding Log Analytics, a registry, a storage
// account (queues, containers, the Event Grid route for order documents), a Service Bus namespace (the
// domain-events pub/sub), Key Vault, PostgreSQL for state, the apps' managed identity (and the Service
// Bus scale rules' own), the Container Apps environment with its Dapr components and the pub/sub's
// resiliency policy, and one container app per function. Step by step: docs/deploy-aca.md.
//
// Deploy twice the first time: with deployApps=false to create everything the apps need (push the
// images and set the Key Vault secrets then), and again with deployApps=true (the default).

targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Lowercase letters and digits: the start of every resource name.')
@minLength(3)
@maxLength(11)
param prefix string = 'bindery'

@description('false creates the platform only (first run: then push images and set secrets).')
param deployApps bool = true

@description('Tag of the bindery-<app> images in the registry.')
param imageTag string

@description('PostgreSQL administrator login (also the state stores\' user).')
param postgresAdminLogin string = 'bindery'

@description('PostgreSQL administrator password: 8-128 characters from three of upper, lower, digits, symbols; no spaces or quotes.')
@secure()
param postgresAdminPassword string

@description('Optional: object id of the user or group that sets secrets and sends test messages.')
param operatorPrincipalId string = ''

@description('The operator\'s principal type.')
@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

@description('Base URL of Stripe\'s API, or of a proxy in front of it (the payment-gateway binding creates PaymentIntents and pays invoices there).')
param paymentProcessorUrl string = 'https://api.stripe.com'

@description('Cron schedule of the dunning tick (the tick\'s 40 s budget must fit in it).')
param retryTickSchedule string = '@every 1m'

@description('Cron schedule of the audit archive\'s tick (it writes the day blobs that changed).')
param archiveTickSchedule string = '@every 1m'

@description('Cron schedule of the tile builder\'s tick (it rebuilds the dashboard tiles that are due).')
param dashboardTickSchedule string = '@every 1m'

@description('Application (client) id of the Entra ID app registration operators sign in to the dashboard with; its client secret is the Key Vault secret dashboard-auth-client-secret (docs/deploy-aca.md).')
param dashboardAuthClientId string

@description('Entra ID tenant whose accounts may sign in to the dashboard.')
param dashboardAuthTenantId string = tenant().tenantId

@description('How often an input queue binding polls while its queue is empty.')
param queuePollingInterval string = '10s'

@description('How long a received message stays invisible before it is redelivered.')
param queueVisibilityTimeout string = '60s'

@description('Mail provider of email-send: sendgrid (v3 API) or smtp (SendGrid\'s SMTP relay).')
@allowed(['sendgrid', 'smtp'])
param emailProvider string = 'sendgrid'

@description('Sender of every email, e.g. "Bindery Billing <billing@example.com>" (a verified SendGrid sender).')
param emailFrom string

@description('The customer portal linked from emails.')
param emailPortalUrl string

@description('Who issues receipts and invoices: lines separated by "|" (name, address, tax number), top right of page 1.')
param documentIssuer string = 'Bindery Billing|billing@bindery.example'

@description('The brand name emails are signed with.')
param emailBrand string = 'Bindery'

var suffix = uniqueString(resourceGroup().id)
var storageName = '${prefix}${suffix}'
// Every queue a deployed component or the Event Grid route uses (tooling/aca.py; tests/unit/test_aca.py).
var queues = ['payment-events', 'email-requests', 'receipt-requests', 'blob-events', 'email-events', 'subscription-actions']
var containers = ['documents', 'dead-letters', 'audit']
// The domain-events pub/sub (pubsub.azure.servicebus.topics, modules/servicebus.bicep). daprd creates no
// entity (disableEntityManagement), so every topic an app publishes to must be listed here (a publish
// to a missing topic fails), and every dead-letter topic a subscription names. `dunning`: payment-retry's
// events, `email`: email-send's and email-events', `documents`: receipt-render's
// (functions/common/domain_events.py), `dead-letters`: every app's dead letters (bindings/messages.py
// DeadLetterEvent); `dunning-dead`, `email-dead`, `documents-dead`, `dead-letters-dead`: what a subscriber
// (the aggregator, the audit archive) drops or gives up on (daprd forwards it there). No app subscribes to
// a `-dead` topic, so Service Bus drops what is forwarded to it: the subscriber's own dead-letter record
// (the dead-letters container, announced on `dead-letters`) keeps each event with its reason.
var topics = ['dunning', 'dunning-dead', 'email', 'email-dead', 'documents', 'documents-dead', 'dead-letters', 'dead-letters-dead']
// One per subscriber app and topic: {topic, app, deadLetterTopic}; the subscription is named by the app
// id (daprd's consumerID) and its dead letters go to deadLetterTopic (`<topic>-dead`, bindings/topics.py),
// or stay in its own dead-letter queue when that is ''. Each subscriber lists the topic in its `topics`
// below too: a KEDA `azure-servicebus` rule on that subscription's backlog scales it (modules/app.bicep),
// signed in as the scalers' own identity (modules/scaler.bicep: Data Owner, which KEDA's count needs).
var subscriptions = [
  { topic: 'dunning', app: 'aggregator', deadLetterTopic: 'dunning-dead' }
  { topic: 'email', app: 'aggregator', deadLetterTopic: 'email-dead' }
  { topic: 'documents', app: 'aggregator', deadLetterTopic: 'documents-dead' }
  { topic: 'dead-letters', app: 'aggregator', deadLetterTopic: 'dead-letters-dead' }
  { topic: 'dunning', app: 'audit-archive', deadLetterTopic: 'dunning-dead' }
  { topic: 'email', app: 'audit-archive', deadLetterTopic: 'email-dead' }
  { topic: 'documents', app: 'audit-archive', deadLetterTopic: 'documents-dead' }
  { topic: 'dead-letters', app: 'audit-archive', deadLetterTopic: 'dead-letters-dead' }
]
// Order documents dropped under documents/orders/ become BlobCreated events on blob-events.
var blobEventsQueue = 'blob-events'
var blobEventsContainer = 'documents'
var blobEventsPrefix = 'orders/'
// The image's APP_PORT (deploy/Dockerfile); the container apps set it explicitly as well.
var appPort = 50001
// One container app per app in functions/common/names.py (demo-ticker and demo-archiver run locally only).
// `queues` are the app's input queues and `topics` the topics it subscribes to (each its subscription in
// `subscriptions`): its scale rules. payment-retry keeps a replica because retry-tick is a cron binding:
// a replica scaled to zero has no sidecar, so no tick. A subscriber may scale to zero: KEDA starts a
// replica once its subscription holds a message.
var apps = [
  {
    name: 'payment-retry', function: 'payment_retry', appProtocol: 'grpc', external: false
    minReplicas: 1, maxReplicas: 3, queues: ['payment-events'], topics: [], env: [], secrets: []
  }
  {
    name: 'email-send', function: 'email_send', appProtocol: 'grpc', external: false
    minReplicas: 0, maxReplicas: 5, queues: ['email-requests'], topics: [], secrets: []
    env: [
      { name: 'EMAIL_PROVIDER', value: emailProvider }
      { name: 'EMAIL_FROM', value: emailFrom }
      { name: 'EMAIL_PORTAL_URL', value: emailPortalUrl }
      { name: 'EMAIL_BRAND', value: emailBrand }
    ]
  }
  {
    name: 'email-events', function: 'email_events', appProtocol: 'grpc', external: false
    minReplicas: 0, maxReplicas: 3, queues: ['email-events'], topics: [], env: [], secrets: []
  }
  {
    name: 'receipt-render', function: 'receipt_render', appProtocol: 'grpc', external: false
    minReplicas: 0, maxReplicas: 3, queues: ['receipt-requests', 'blob-events'], topics: [], secrets: []
    // Customer links are user-delegation SAS URLs signed with the managed identity.
    env: [
      { name: 'DOCUMENTS_ACCOUNT_URL', value: 'https://${storageName}.blob.${environment().suffixes.storage}/' }
      { name: 'DOCUMENT_ISSUER', value: documentIssuer }
    ]
  }
  {
    name: 'aggregator', function: 'aggregator', appProtocol: 'grpc', external: false
    minReplicas: 0, maxReplicas: 3, queues: [], topics: ['dunning', 'email', 'documents', 'dead-letters'], env: [], secrets: []
  }
  // Keeps a replica: archive-tick is a cron binding (a replica scaled to zero has no sidecar, so no tick).
  {
    name: 'audit-archive', function: 'audit_archive', appProtocol: 'grpc', external: false
    minReplicas: 1, maxReplicas: 3, queues: [], topics: ['dunning', 'email', 'documents', 'dead-letters'], env: [], secrets: []
  }
  // Keeps one replica: dashboard-tick is a cron binding. It has no queue or topic to scale on, and a tick
  // reaches every replica (each would build the same tiles), so one is enough.
  {
    name: 'tile-builder', function: 'tile_builder', appProtocol: 'grpc', external: false
    minReplicas: 1, maxReplicas: 1, queues: [], topics: [], env: [], secrets: []
  }
  // The operators' dashboard: HTTP with external ingress, behind Container Apps' built-in authentication
  // (modules/dashboard-auth.bicep: Microsoft Entra ID, a visitor not signed in is sent to sign in). The
  // page is built into the image (deploy/Dockerfile); the app reads only the `tiles` store.
  {
    name: 'dashboard', function: 'dashboard', appProtocol: 'http', external: true
    minReplicas: 0, maxReplicas: 2, queues: [], topics: [], secrets: ['dashboard-auth-client-secret']
    env: [{ name: 'DASHBOARD_ASSETS', value: '/opt/bindery/dashboard' }]
  }
  {
    name: 'email-webhook', function: 'email_webhook', appProtocol: 'http', external: true
    minReplicas: 0, maxReplicas: 3, queues: [], topics: [], secrets: ['sendgrid-webhook-public-key']
    env: [{ name: 'SENDGRID_WEBHOOK_PUBLIC_KEY', secretRef: 'sendgrid-webhook-public-key' }]
  }
  {
    name: 'stripe-webhook', function: 'stripe_webhook', appProtocol: 'http', external: true
    minReplicas: 0, maxReplicas: 3, queues: [], topics: [], secrets: ['stripe-webhook-secret']
    env: [{ name: 'STRIPE_WEBHOOK_SECRET', secretRef: 'stripe-webhook-secret' }]
  }
]

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    name: '${prefix}-logs-${suffix}'
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    name: '${prefix}${suffix}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    name: storageName
    queues: queues
    containers: containers
    blobEventsQueue: blobEventsQueue
    blobEventsSubjectPrefix: '/blobServices/default/containers/${blobEventsContainer}/blobs/${blobEventsPrefix}'
    workspaceId: monitoring.outputs.id
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    name: '${prefix}-bus-${suffix}'
    topics: topics
    subscriptions: subscriptions
    workspaceId: monitoring.outputs.id
  }
}

module vault 'modules/vault.bicep' = {
  name: 'vault'
  params: {
    location: location
    name: 'kv-${suffix}'
    workspaceId: monitoring.outputs.id
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    name: '${prefix}-pg-${suffix}'
    administratorLogin: postgresAdminLogin
    administratorPassword: postgresAdminPassword
    vaultName: vault.outputs.name
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: '${prefix}-apps'
    storageAccountName: storage.outputs.name
    serviceBusName: serviceBus.outputs.name
    serviceBusReceives: !empty(subscriptions)
    vaultName: vault.outputs.name
    registryName: registry.outputs.name
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

// The scale rules' own identity: Data Owner on the namespace, which KEDA's subscription count needs and
// no app holds (modules/scaler.bicep).
module scaler 'modules/scaler.bicep' = {
  name: 'scaler'
  params: {
    location: location
    name: '${prefix}-scaler'
    serviceBusName: serviceBus.outputs.name
    serviceBusScales: !empty(subscriptions)
  }
}

module appsEnvironment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    name: '${prefix}-env'
    workspaceName: monitoring.outputs.name
    identityId: identity.outputs.id
  }
}

// Generated from components/azure by `python -m tooling.aca`; its parameters are the ${NAME}
// placeholders of those files (tests/unit/test_aca.py checks that each is passed).
module dapr 'modules/components.bicep' = if (deployApps) {
  name: 'dapr-components'
  params: {
    environmentName: appsEnvironment.outputs.name
    vaultUri: vault.outputs.uri
    identityId: identity.outputs.id
    STORAGE_ACCOUNT: storage.outputs.name
    SERVICEBUS_NAMESPACE: serviceBus.outputs.host
    MANAGED_IDENTITY_CLIENT_ID: identity.outputs.clientId
    QUEUE_POLLING_INTERVAL: queuePollingInterval
    QUEUE_VISIBILITY_TIMEOUT: queueVisibilityTimeout
    RETRY_TICK_SCHEDULE: retryTickSchedule
    ARCHIVE_TICK_SCHEDULE: archiveTickSchedule
    DASHBOARD_TICK_SCHEDULE: dashboardTickSchedule
    PAYMENT_PROCESSOR_URL: paymentProcessorUrl
  }
}

// Dapr resiliency for the domain-events component in ACA, as components/local/resiliency.yaml locally:
// a RETRY answer is retried in place (modules/resiliency.bicep says why).
module daprResiliency 'modules/resiliency.bicep' = if (deployApps) {
  name: 'dapr-resiliency'
  dependsOn: [
    dapr
  ]
  params: {
    environmentName: appsEnvironment.outputs.name
    componentName: 'domain-events'
  }
}

module containerApps 'modules/app.bicep' = [for app in (deployApps ? apps : []): {
  name: 'app-${app.name}'
  dependsOn: [
    dapr
    daprResiliency
    postgres
  ]
  params: {
    location: location
    name: app.name
    image: '${registry.outputs.loginServer}/bindery-${app.name}:${imageTag}'
    environmentId: appsEnvironment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    vaultUri: vault.outputs.uri
    appPort: appPort
    appProtocol: app.appProtocol
    external: app.external
    minReplicas: app.minReplicas
    maxReplicas: app.maxReplicas
    queues: app.queues
    topics: app.topics
    serviceBusName: serviceBus.outputs.name
    scalerIdentityId: scaler.outputs.id
    env: app.env
    secrets: app.secrets
  }
}]

// Nobody reaches the dashboard without signing in: Entra ID in front of the app, not in it.
module dashboardAuth 'modules/dashboard-auth.bicep' = if (deployApps) {
  name: 'dashboard-auth'
  dependsOn: [
    containerApps
  ]
  params: {
    appName: 'dashboard'
    clientId: dashboardAuthClientId
    clientSecretSettingName: 'dashboard-auth-client-secret'
    tenantId: dashboardAuthTenantId
  }
}

output registryLoginServer string = registry.outputs.loginServer
output registryName string = registry.outputs.name
output storageAccountName string = storage.outputs.name
output serviceBusName string = serviceBus.outputs.name
output vaultName string = vault.outputs.name
output environmentName string = appsEnvironment.outputs.name
output postgresHost string = postgres.outputs.host
