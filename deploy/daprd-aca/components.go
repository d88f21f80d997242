package main

// The registration list. Keep it in step with the `type:` values under components/ and with the
// other module's list: deploy/daprd/components.go and deploy/daprd-aca/components.go register the
// same type names (tests/unit/test_daprd.py and test_components.py check both). The build cache is
// keyed by this file's digest (tooling/daprd_builds.py).

import (
	"github.com/dapr/components-contrib/bindings"
	"github.com/dapr/components-contrib/bindings/azure/blobstorage"
	"github.com/dapr/components-contrib/bindings/azure/storagequeues"
	"github.com/dapr/components-contrib/bindings/cron"
	"github.com/dapr/components-contrib/bindings/http"
	"github.com/dapr/components-contrib/bindings/smtp"
	"github.com/dapr/components-contrib/bindings/twilio/sendgrid"
	pubsubservicebus "github.com/dapr/components-contrib/pubsub/azure/servicebus/topics"
	pubsubredis "github.com/dapr/components-contrib/pubsub/redis"
	secretenv "github.com/dapr/components-contrib/secretstores/local/env"
	secretfile "github.com/dapr/components-contrib/secretstores/local/file"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	"github.com/dapr/components-contrib/state/redis"
	"github.com/dapr/components-contrib/state/sqlite"
	"github.com/dapr/dapr/pkg/components"
	bindingsLoader "github.com/dapr/dapr/pkg/components/bindings"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
	"github.com/dapr/kit/logger"
)

func init() {
	bindingsLoader.DefaultRegistry.RegisterInputBinding(cron.NewCron, "cron")
	bindingsLoader.DefaultRegistry.RegisterInputBinding(func(l logger.Logger) bindings.InputBinding {
		return storagequeues.NewAzureStorageQueues(l)
	}, "azure.storagequeues")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(func(l logger.Logger) bindings.OutputBinding {
		return storagequeues.NewAzureStorageQueues(l)
	}, "azure.storagequeues")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(blobstorage.NewAzureBlobStorage, "azure.blobstorage")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(http.NewHTTP, "http")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(smtp.NewSMTP, "smtp")
	bindingsLoader.DefaultRegistry.RegisterOutputBinding(sendgrid.NewSendGrid, "twilio.sendgrid")

	// Redis streams: the local broker of components/local/domain-events.yaml.
	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubredis.NewRedisStreams, "redis")
	// Service Bus topics: the Azure broker of components/azure/domain-events.yaml.
	pubsubLoader.DefaultRegistry.RegisterComponent(pubsubservicebus.NewAzureServiceBusTopics, "azure.servicebus.topics")

	stateLoader.DefaultRegistry.RegisterComponent(sqlite.NewSQLiteStateStore, "sqlite", "sqlite3")
	stateLoader.DefaultRegistry.RegisterComponent(redis.NewRedisStateStore, "redis")
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	})

	secretstoresLoader.DefaultRegistry.RegisterComponent(secretfile.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(secretenv.NewEnvSecretStore, "local.env")
}
