// The identity KEDA's `azure-servicebus` scale rules sign in with, and nothing else: its own
// user-assigned identity, never the apps' shared one (identity.bicep). KEDA reads a subscription's
// backlog through the Service Bus management API (subscription runtime properties), which needs the
// Manage right: Azure Service Bus Data Owner (create and delete any entity of the namespace). Given to
// the apps' identity it would let every app, and every Dapr component, manage the whole namespace; here
// only the scale rules hold it. A container app must carry an identity its scale rule names, so
// modules/app.bicep assigns this one to subscriber apps with lifecycle None: the platform (KEDA) uses
// it, the app's containers cannot obtain a token for it.

@description('Azure region.')
param location string

@description('Identity name.')
param name string

@description('The Service Bus namespace of the domain-events pub/sub.')
param serviceBusName string

@description('Whether a deployed app subscribes to a topic (grants the scalers Data Owner).')
param serviceBusScales bool = false

// Built-in role definition id: Azure Service Bus Data Owner (the Manage right KEDA's scaler needs).
var busDataOwner = '090c5cfd-751d-490a-894a-3ce6f1109419'
var scalerRoles = [
  busDataOwner
]

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

// On the namespace, the scope KEDA's management calls are checked against.
resource scalerGrants 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in (serviceBusScales ? scalerRoles : []): {
  name: guid(serviceBus.id, scaler.id, role)
  scope: serviceBus
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: scaler.properties.principalId
    principalType: 'ServicePrincipal'
  }
}]

output id string = scaler.id
output principalId string = scaler.properties.principalId
