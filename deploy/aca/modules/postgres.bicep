// Azure Database for PostgreSQL flexible server: the state store of every app (Dapr state.postgresql v2,
// ETag first-write, one table prefix per store). Its connection string goes into Key Vault, from where the
// Dapr components read it (secretRef `statestore-connection`).

@description('Azure region.')
param location string

@description('Server name (3-63 lowercase letters, digits and dashes).')
param name string

@description('Administrator login; the Dapr state stores connect as this user and create their tables.')
param administratorLogin string

@description('Administrator password (no spaces or quotes: it goes into a key=value connection string).')
@secure()
param administratorPassword string

@description('Key Vault that receives the connection string.')
param vaultName string

@description('Name of the Key Vault secret the Dapr state store components reference.')
param connectionSecretName string = 'statestore-connection'

var database = 'bindery'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  sku: {
    name: 'Standard_B1ms'
    tier: 'Burstable'
  }
  properties: {
    version: '16'
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    authConfig: {
      passwordAuth: 'Enabled'
      activeDirectoryAuth: 'Disabled'
    }
    storage: {
      storageSizeGB: 32
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource stateDatabase 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: database
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// 0.0.0.0-0.0.0.0 is the service's "allow Azure services" rule: consumption Container Apps environments
// without a virtual network have no fixed outbound address to allow instead.
resource azureServices 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: server
  name: 'AllowAzureServices'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource connection 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41:The connection string changes only with the administrator password (rotate by redeploying with a new one); an expiry date would stop the state stores on that date.
  parent: vault
  name: connectionSecretName
  properties: {
    contentType: 'text/plain'
    value: 'host=${server.properties.fullyQualifiedDomainName} port=5432 user=${administratorLogin} password=${administratorPassword} dbname=${database} sslmode=require'
  }
}

output name string = server.name
output host string = server.properties.fullyQualifiedDomainName
