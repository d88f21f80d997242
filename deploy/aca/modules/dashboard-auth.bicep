// Container Apps' built-in authentication in front of the dashboard: Microsoft Entra ID, and a visitor
// who is not signed in is redirected to the sign-in page (never served the page or a tile). The client
// secret stays in Key Vault: the app's secret `clientSecretSettingName` references it, and the
// authentication middleware reads it from there.

@description('The dashboard container app\'s name.')
param appName string

@description('Application (client) id of the Entra ID app registration operators sign in with.')
param clientId string

@description('Name of the container app secret holding that registration\'s client secret (a Key Vault reference).')
param clientSecretSettingName string

@description('Entra ID tenant whose accounts may sign in.')
param tenantId string

resource app 'Microsoft.App/containerApps@2025-01-01' existing = {
  name: appName
}

resource auth 'Microsoft.App/containerApps/authConfigs@2025-01-01' = {
  parent: app
  name: 'current'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          clientSecretSettingName: clientSecretSettingName
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}
