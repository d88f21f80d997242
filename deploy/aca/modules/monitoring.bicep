// Log Analytics: where the Container Apps environment sends console and system logs.

@description('Azure region.')
param location string

@description('Workspace name.')
param name string

@description('Days to keep logs (30 is included in the ingestion price).')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

output name string = workspace.name
output id string = workspace.id
