// The user-assigned managed identity every Bindery app runs as, and what it may do. One identity, because
// the Dapr components are shared by several apps and name one azureClientId; each component's scopes
// still decide which app loads it.

@description('Azure region.')
param location string

@description('Identity name.')
param name string

@description('The storage account the bindings use.')
param storageAccountName string

@description('The Service Bus namespace of the domain-events pub/sub.')
param serviceBusName string

@description('Whether a deployed app subscribes to a topic (adds Azure Service Bus Data Receiver).')
param serviceBusReceives bool = false

@description('The Key Vault holding the component and app secrets.')
param vaultName string

@description('The registry the app images are pulled from.')
param registryName string

@description('Optional: a user or group that operates the deployment (sets secrets, sends test messages).')
param operatorPrincipalId string = ''

@description('The operator\'s principal type.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

// Built-in role definition ids.
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // blob bindings; user-delegation SAS keys
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // queue bindings; KEDA's queue length
// The domain-events pub/sub. Send and receive only: the component runs with disableEntityManagement and
// the template creates the topics and subscriptions, so no app holds Azure Service Bus Data Owner
// (090c5cfd-751d-490a-894a-3ce6f1109419: Manage, i.e. create and delete any entity of the namespace),
// which entity management would need. One identity, so Data Sender covers every publishing app.
var busDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // publishers of domain-events
var busDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // subscribers: granted once one is deployed
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault secret references
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

var storageRoles = [
  blobDataContributor
  queueDataContributor
]
var serviceBusRoles = [
  busDataSender
]
var serviceBusSubscriberRoles = [
  busDataReceiver
]
var vaultRoles = [
  secretsUser
]
var registryRoles = [
  acrPull
]
var operatorStorageRoles = [
  blobDataContributor
  queueDataContributor
]
var operatorVaultRoles = [
  secretsOfficer
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

resource storageGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: {
  name: guid(storage.id, identity.id, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource serviceBusGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in serviceBusRoles: {
  name: guid(serviceBus.id, identity.id, role)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource serviceBusSubscriberGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in (serviceBusReceives ? serviceBusSubscriberRoles : []): {
  name: guid(serviceBus.id, identity.id, role)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource vaultGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in vaultRoles: {
  name: guid(vault.id, identity.id, role)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource registryGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in registryRoles: {
  name: guid(registry.id, identity.id, role)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource operatorStorageGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in (empty(operatorPrincipalId) ? [] : operatorStorageRoles): {
  name: guid(storage.id, operatorPrincipalId, role)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}]

resource operatorVaultGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in (empty(operatorPrincipalId) ? [] : operatorVaultRoles): {
  name: guid(vault.id, operatorPrincipalId, role)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}]

output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
