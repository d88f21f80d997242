// Azure Container Registry for the one Bindery image per function (bindery-<app>:<tag>).
// The apps pull with the managed identity (AcrPull, granted in identity.bicep): no admin user.

@description('Azure region.')
param location string

@description('Registry name (5-50 letters and digits).')
param name string

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139:The Basic SKU has no private endpoints; CI pushes and Container Apps pulls over Entra ID (no admin user, no anonymous pull).
  // checkov:skip=CKV_AZURE_163:Image scanning is Microsoft Defender for Containers, enabled per subscription rather than in this template.
  // checkov:skip=CKV_AZURE_166:Quarantine is a Premium-only feature; images come only from this repository's CI.
  name: name
  location: location
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
