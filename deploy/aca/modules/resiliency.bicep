// The Azure counterpart of components/local/resiliency.yaml: a RETRY answer to a domain-events
// delivery is handed back to the app in place, backing off, rather than going straight to the
// subscription's dead-letter topic. daprd completes a Service Bus message whatever the app answers and
// forwards a RETRY to the dead-letter topic unless a retry policy covers the component's inbound calls
// (daprd -> app); with this one the app counts the attempts and dead-letters the event itself, with the
// reason, once its route's max_attempts (5 by default) is reached. Same ladder as locally: 10 retries,
// 0.5 s growing to at most 4 s (about 26 s in all), below the component's 60 s handlerTimeoutInSec and
// the subscription's 60 s lock, which the component renews meanwhile.
//
// ACA has Dapr component resiliency policies in its preview API versions only (2025-02-02-preview here;
// the stable 2025-01-01 of the other Microsoft.App resources has no resiliencyPolicies). The policy is
// named httpRetryPolicy but is ACA's only inbound retry; it applies to the component's deliveries to
// the app whatever the app's protocol (the FunctionApps speak gRPC).

@description('The Container Apps environment.')
param environmentName string

@description('The pub/sub component the policy covers (generated in modules/components.bicep).')
param componentName string

resource managedEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' existing = {
  name: environmentName
}

resource component 'Microsoft.App/managedEnvironments/daprComponents@2025-01-01' existing = {
  parent: managedEnvironment
  name: componentName
}

resource topicRedelivery 'Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies@2025-02-02-preview' = {
  parent: component
  name: 'topic-redelivery'
  properties: {
    inboundPolicy: {
      httpRetryPolicy: {
        maxRetries: 10
        retryBackOff: {
          initialDelayInMilliseconds: 500
          maxIntervalInMilliseconds: 4000
        }
      }
    }
  }
}

output name string = topicRedelivery.name
