// Key Vault for the secrets no managed identity can replace: the SendGrid API key (SMTP relay password and
// the v3 API's Authorization header), the processor's Authorization header, the webhook's verification
// key, and the state store's connection string (written by postgres.bicep). Access is Azure RBAC only.

@description('Azure region.')
param location string

@description('Vault name (3-24 letters, digits and dashes).')
param name string

@description('Log Analytics workspace for the vault\'s audit log.')
param workspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109:Container Apps resolves Key Vault references over the vault's public endpoint unless the environment has a virtual network; access is Azure RBAC only and audited to Log Analytics.
  // checkov:skip=CKV_AZURE_189:Same reason as CKV_AZURE_109: without a virtual network, Container Apps needs the public endpoint.
  name: name
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource auditLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
