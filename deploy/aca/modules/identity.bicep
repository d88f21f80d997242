// The user-assigned managed identity every Bindery app runs as, and what it may do. One identity, because
// the Dapr components are shared by several apps and name one azureClientId; each component's scopes
// still decide which app loads it.

@description('Azure region.')
param location string

@description('Identity name.')
param name string

@description('The storage account the bindings use.')
param storageAccountName string

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
var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault secret references
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

var storageRoles = [
  blobDataContributor
  queueDataContributor
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
