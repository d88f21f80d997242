// The Container Apps environment (consumption workload profile), logging to Log Analytics. Managed Dapr
// comes with it: the platform runs daprd beside each Dapr-enabled app, at the version ACA chooses
// (`az containerapp env show --query properties.daprVersion`).

@description('Azure region.')
param location string

@description('Environment name.')
param name string

@description('Log Analytics workspace name.')
param workspaceName string

@description('The managed identity the Dapr components resolve their Key Vault references with.')
param identityId string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource managedEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: name
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    zoneRedundant: false
  }
}

output name string = managedEnvironment.name
output id string = managedEnvironment.id
