"""Offline checks of the Azure Container Apps deployment: Bicep, generated components, roles, scans."""

from __future__ import annotations

import importlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from pycep import BicepParser

from functions.common import domain_events, names
from tooling import aca
from tooling.paths import project_root

ROOT = project_root()
ACA = ROOT / "deploy" / "aca"
DEPLOYED = sorted(set(names.APPS) - set(aca.LOCAL_ONLY_APPS))
ROLES = {  # built-in role definition ids
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
}


@cache
def _parser() -> BicepParser:
    """One pycep parser: building its grammar costs more than parsing every file."""
    return BicepParser()


@cache
def bicep(name: str) -> dict[str, Any]:
    """The pycep parse of deploy/aca/<name>."""
    parsed: Any = _parser().parse(file_path=ACA / name)
    return dict(parsed)


def dotted(expr: Any) -> Any:
    """`a.b.c` for a property-accessor chain; anything else unchanged."""
    if isinstance(expr, dict) and expr.get("operator", {}).get("type") == "property_accessor":
        operands = expr["operator"]["operands"]
        return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
    return expr


def variable(name: str, file: str = "main.bicep") -> Any:
    """A literal variable of a Bicep file."""
    return bicep(file)["variables"][name]["value"]


def apps() -> dict[str, dict[str, Any]]:
    """main.bicep's container apps by name."""
    return {app["name"]: app for app in variable("apps")}


def deployed_components() -> list[dict[str, Any]]:
    """The daprComponents resources of the generated module, read back from the Bicep."""
    resources = bicep("modules/components.bicep")["resources"].values()
    return [r["config"] for r in resources if r["type"] == "Microsoft.App/managedEnvironments/daprComponents"]


def scoped_to(app: str) -> list[dict[str, Any]]:
    """The ACA components an app loads."""
    return [c for c in aca.generate(aca.source_dir()) if app in c["scopes"]]


def test_every_bicep_file_parses() -> None:
    """Main, every module and the generated components parse with pycep and declare resources or modules."""
    files = sorted(path.relative_to(ACA).as_posix() for path in ACA.rglob("*.bicep"))
    assert "main.bicep" in files
    assert "modules/components.bicep" in files
    for file in files:
        parsed = bicep(file)
        assert parsed.get("resources") or parsed.get("modules"), file
    used = {module["detail"]["path"] for module in bicep("main.bicep")["modules"].values()}
    assert used == {file for file in files if file.startswith("modules/")}


def test_the_generated_components_module_is_current() -> None:
    """modules/components.bicep is what `python -m tooling.aca` writes from components/azure now."""
    assert aca.target_file().read_text() == aca.render(aca.generate(aca.source_dir())), "run the generator"


def test_aca_components_equal_components_azure() -> None:
    """Read back from the Bicep, each component has the yaml's type, version, metadata and scopes."""
    expected = {}
    for path in sorted(aca.source_dir().glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        scopes = [app for app in doc["scopes"] if app not in aca.LOCAL_ONLY_APPS]
        if scopes:
            metadata = {
                i["name"]: ("secret", i["secretKeyRef"]["name"]) if "secretKeyRef" in i else i["value"]
                for i in doc["spec"]["metadata"]
            }
            expected[doc["metadata"]["name"]] = (
                doc["spec"]["type"],
                doc["spec"]["version"],
                metadata,
                scopes,
            )
    found = {}
    for c in deployed_components():
        props = c["properties"]
        metadata = {
            i["name"]: ("secret", i["secretRef"]) if "secretRef" in i else i["value"]
            for i in props["metadata"]
        }
        secrets = {s["name"]: s["keyVaultUrl"] for s in props["secrets"]}
        assert secrets == {
            v[1]: f"${{vaultUri}}secrets/{v[1]}" for v in metadata.values() if isinstance(v, tuple)
        }
        assert {s["identity"] for s in props["secrets"]} <= {"identityId"}
        found[c["name"]] = (props["componentType"], props["version"], metadata, props["scopes"])
    assert found == expected


def test_local_only_apps_and_their_components_are_left_out_explicitly() -> None:
    """Only the demo apps are local-only; exactly the components scoped to nothing else stay out of Azure."""
    assert set(aca.LOCAL_ONLY_APPS) == {names.DEMO_TICKER, names.DEMO_ARCHIVER}
    left_out = {c.name for c in names.COMPONENTS if set(c.apps) <= set(aca.LOCAL_ONLY_APPS)}
    assert left_out == {names.DEMO_TICK, names.DEMO_EVENTS, names.DEMO_EVENTS_OUT}
    deployed = {c["name"] for c in deployed_components()}
    assert deployed == {c.name for c in names.COMPONENTS} - left_out
    assert not {app for c in deployed_components() for app in c["properties"]["scopes"]} - set(DEPLOYED)


def test_main_passes_every_parameter_the_components_need() -> None:
    """Each ${NAME} of components/azure (a module parameter) is passed by main.bicep, and nothing else."""
    params = bicep("modules/components.bicep")["parameters"]
    required = {name for name, param in params.items() if param.get("default") is None}
    assert required >= aca.settings_used(aca.generate(aca.source_dir())) | {"vaultUri", "identityId"}
    passed = set(bicep("main.bicep")["modules"]["dapr"]["config"]["config"]["params"])
    assert passed == required


def test_every_app_is_deployed_with_its_protocol_port_and_module() -> None:
    """Each non-local app runs its module: gRPC for FunctionApps, HTTP with ingress for the webhooks."""
    assert sorted(apps()) == DEPLOYED
    port = variable("appPort")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(rf"\bAPP_PORT={port}\b", dockerfile)
    assert f"EXPOSE {port}" in dockerfile
    call = bicep("main.bicep")["modules"]["containerApps"]["config"]["config"]["params"]
    assert call["appPort"] == "appPort"
    for name, app in apps().items():
        module = importlib.import_module(f"functions.{app['function']}.app")
        assert getattr(getattr(module, "app", None), "name", getattr(module, "APP_ID", None)) == name
        assert app["appProtocol"] == ("grpc" if name in names.FUNCTION_APPS else "http"), name
        assert app["external"] is (name in names.HTTP_APPS), name


def test_cron_apps_keep_a_replica_and_queue_apps_scale_on_their_input_queues() -> None:
    """A cron app keeps a replica; scale rules name exactly the app's input queues, all of them created."""
    created = set(variable("queues"))
    for name, app in apps().items():
        inputs = [c for c in scoped_to(name) if {"name": "direction", "value": "input"} in c["metadata"]]
        if any(c["componentType"] == "bindings.cron" for c in inputs):
            assert app["minReplicas"] >= 1, name
        queues = {i["value"] for c in inputs for i in c["metadata"] if i["name"] == "queue"}
        assert set(app["queues"]) == queues, name
        assert set(app["queues"]) <= created, name
    rules = variable("queueRules", "modules/app.bicep")
    assert rules["loop_type"]["detail"] == {"item_name": "queue", "array_name": "queues"}
    assert rules["config"]["azureQueue"]["queueName"] == "queue"
    assert rules["config"]["azureQueue"]["identity"] == "identityId"


def test_the_template_creates_exactly_the_queues_and_containers_in_use() -> None:
    """Queues and containers are those of the components plus the Event Grid route's, and no others."""
    queues, containers = set(), set()
    for c in aca.generate(aca.source_dir()):
        values = {i["name"]: i.get("value") for i in c["metadata"]}
        queues |= {values["queue"]} if "queue" in values else set()
        containers |= {values["containerName"]} if "containerName" in values else set()
    assert set(variable("queues")) == queues | {variable("blobEventsQueue")}
    assert set(variable("containers")) == containers | {variable("blobEventsContainer")}


def test_event_grid_sends_blob_created_under_orders_to_the_blob_events_queue() -> None:
    """BlobCreated events for documents/orders/ reach blob-events in the Event Grid schema."""
    assert variable("blobEventsQueue") == names.BLOB_EVENTS
    assert variable("blobEventsContainer") == names.DOCUMENTS_CONTAINER
    assert variable("blobEventsPrefix") == "orders/"
    params = bicep("main.bicep")["modules"]["storage"]["config"]["params"]
    assert params["blobEventsSubjectPrefix"] == (
        "/blobServices/default/containers/${blobEventsContainer}/blobs/${blobEventsPrefix}"
    )
    resources = bicep("modules/storage.bicep")["resources"]
    (sub,) = [r["config"] for r in resources.values() if r["type"].endswith("/eventSubscriptions")]
    props = sub["properties"]
    assert props["filter"]["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert props["filter"]["subjectBeginsWith"] == "blobEventsSubjectPrefix"
    assert props["eventDeliverySchema"] == "EventGridSchema"
    destination = props["deliveryWithResourceIdentity"]["destination"]
    assert destination["endpointType"] == "StorageQueue"
    assert destination["properties"]["queueName"] == "blobEventsQueue"


def test_the_pub_sub_namespace_holds_every_topic_and_subscription_daprd_may_not_create() -> None:
    """A Standard namespace without keys, TLS 1.2; daprd manages no entity, so the template creates them."""
    (component,) = [c for c in aca.generate(aca.source_dir()) if c["name"] == names.DOMAIN_EVENTS]
    values = {i["name"]: i["value"] for i in component["metadata"]}
    assert component["componentType"] == "pubsub.azure.servicebus.topics"
    assert values["disableEntityManagement"] == "true"
    assert values["namespaceName"] == "${SERVICEBUS_NAMESPACE}"
    assert values["azureClientId"] == "${MANAGED_IDENTITY_CLIENT_ID}"
    assert "connectionString" not in values
    passed = bicep("main.bicep")["modules"]["dapr"]["config"]["config"]["params"]
    assert dotted(passed["SERVICEBUS_NAMESPACE"]) == "serviceBus.outputs.host"
    resources = {r["type"]: r["config"] for r in bicep("modules/servicebus.bicep")["resources"].values()}
    namespace = resources["Microsoft.ServiceBus/namespaces"]
    assert namespace["sku"]["name"] == "Standard"
    assert namespace["properties"]["disableLocalAuth"] is True
    assert namespace["properties"]["minimumTlsVersion"] == "1.2"
    subscription = resources["Microsoft.ServiceBus/namespaces/topics/subscriptions"]
    assert subscription["loop_type"]["detail"]["array_name"] == "subscriptions"
    assert subscription["config"]["properties"]["deadLetteringOnMessageExpiration"] is True
    forward = subscription["config"]["properties"]["forwardDeadLetteredMessagesTo"]["operator"]["operands"]
    assert dotted(forward["false_value"]) == "sub.deadLetterTopic"  # none when the subscription names none
    params = bicep("main.bicep")["modules"]["serviceBus"]["config"]["params"]
    assert (params["topics"], params["subscriptions"]) == ("topics", "subscriptions")
    topics = variable("topics")
    assert len(set(topics)) == len(topics)
    for sub in variable("subscriptions"):  # the subscription is named by the app id: daprd's consumerID
        assert sub["topic"] in topics, sub
        assert sub["deadLetterTopic"] in {*topics, ""}, sub
        assert sub["app"] in component["scopes"], sub


def test_every_topic_a_deployed_app_publishes_on_is_created() -> None:
    """Each topic a deployed app publishes on (a TopicQueue) is in main.bicep's topics: daprd creates none."""
    published = set()
    for app in apps().values():
        module = importlib.import_module(f"functions.{app['function']}.app")
        for value in vars(module).values():
            if isinstance(value, domain_events.TopicQueue):
                assert getattr(value.publisher, "pubsub", names.DOMAIN_EVENTS) == names.DOMAIN_EVENTS
                published.add(value.topic)
    assert published
    assert published <= set(variable("topics"))


def granted(*, subscribing: bool = False) -> set[tuple[str, str]]:
    """(scope, role) pairs identity.bicep grants the apps' identity; `subscribing`: with subscribers'."""
    out = set()
    for resource in bicep("modules/identity.bicep")["resources"].values():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        loop, config = resource["config"]["loop_type"]["detail"], resource["config"]["config"]
        if dotted(config["properties"]["principalId"]) != "identity.properties.principalId":
            continue
        assert (
            config["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
            == loop["item_name"]
        )
        array = loop["array_name"]
        if isinstance(array, dict):  # `serviceBusReceives ? roles : []`: granted once an app subscribes
            operands = array["operator"]["operands"]
            assert (operands["condition"], operands["false_value"]) == ("serviceBusReceives", [])
            if not subscribing:
                continue
            array = operands["true_value"]
        declared = bicep("modules/identity.bicep")["variables"]
        roles = [declared[r]["value"] if r in declared else r for r in declared[array]["value"]]
        out |= {(config["scope"], ROLES[role]) for role in roles}
    return out


def test_every_app_identity_has_the_roles_its_bindings_need() -> None:
    """Each binding, scale rule, secret and pub/sub role is granted (Service Bus: never Data Owner)."""
    params = bicep("main.bicep")["modules"]["containerApps"]["config"]["config"]["params"]
    assert dotted(params["identityId"]) == "identity.outputs.id"
    assert dotted(bicep("modules/identity.bicep")["outputs"]["id"]["value"]) == "identity.id"
    have = granted(subscribing=bool(variable("subscriptions")))
    for name, app in apps().items():
        need = {("registry", "AcrPull")}
        for c in scoped_to(name):
            if c["componentType"] == "bindings.azure.blobstorage":
                need.add(("storage", "Storage Blob Data Contributor"))
            if c["componentType"] == "bindings.azure.storagequeues":
                need.add(("storage", "Storage Queue Data Contributor"))
            if c["secrets"]:
                need.add(("vault", "Key Vault Secrets User"))
            if c["componentType"] == "pubsub.azure.servicebus.topics":
                need.add(("serviceBus", "Azure Service Bus Data Sender"))
        if name in {sub["app"] for sub in variable("subscriptions")}:
            need.add(("serviceBus", "Azure Service Bus Data Receiver"))
        if app["queues"]:
            need.add(("storage", "Storage Queue Data Contributor"))
        if app["secrets"]:
            need.add(("vault", "Key Vault Secrets User"))
        assert need <= have, (name, need - have)
    assert "Azure Service Bus Data Owner" not in {role for _, role in granted(subscribing=True)}


def test_subscribers_get_data_receiver_exactly_when_the_template_declares_subscriptions() -> None:
    """main.bicep passes serviceBusReceives = !empty(subscriptions): Data Receiver on the namespace."""
    receives = bicep("main.bicep")["modules"]["identity"]["config"]["params"]["serviceBusReceives"]
    empty = {"function": {"type": "empty", "parameters": {"item_to_test": "subscriptions"}}}
    assert receives == {"operator": {"type": "not", "operands": {"bool_value": empty}}}
    assert granted(subscribing=True) - granted() == {("serviceBus", "Azure Service Bus Data Receiver")}


def test_app_api_token_is_left_to_container_apps() -> None:
    """No app sets APP_API_TOKEN: ACA generates one per revision for the app and its sidecar."""
    env = [item["name"] for app in apps().values() for item in app["env"]]
    assert env
    assert "APP_API_TOKEN" not in env
    assert "APP_API_TOKEN" not in json.dumps(bicep("modules/app.bicep"))


def test_the_parameters_file_sets_every_required_non_secret_parameter() -> None:
    """The dev parameters file fills what has no default, holds no secret, and names only real parameters."""
    params = bicep("main.bicep")["parameters"]
    secure = {n for n, p in params.items() if any(d["type"] == "secure" for d in p["decorators"])}
    required = {n for n, p in params.items() if p.get("default") is None} - secure
    given = set(json.loads((ACA / "main.parameters.dev.json").read_text())["parameters"])
    assert required <= given
    assert given <= set(params) - secure
    assert secure == {"postgresAdminPassword"}


def test_the_deploy_workflow_logs_in_with_oidc_and_builds_every_app() -> None:
    """Manual trigger, id-token permission, azure/login with ids, one image per deployed app."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    assert set(workflow[True]) == {"workflow_dispatch"}  # yaml reads the `on` key as True
    assert workflow["permissions"]["id-token"] == "write"
    steps = workflow["jobs"]["deploy"]["steps"]
    (login,) = [step for step in steps if str(step.get("uses", "")).startswith("azure/login@")]
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}
    script = "\n".join(step.get("run", "") for step in steps)
    (loop,) = re.findall(r"for app in ([\w\- ]+); do", script)
    assert sorted(loop.split()) == DEPLOYED
    assert script.count("--template-file deploy/aca/main.bicep") == 2


def test_the_generator_refuses_what_aca_cannot_express(tmp_path: Path) -> None:
    """Local secret stores, keyed secrets, unscoped components are errors; local-only scopes are dropped."""
    base = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": "q"}, "scopes": ["x"]}
    good = {**base, "spec": {"type": "bindings.cron", "version": "v1",
                             "metadata": [{"name": "schedule", "value": "${TICK}"}]}}  # fmt: skip
    (tmp_path / "q.yaml").write_text(yaml.safe_dump(good))
    (tmp_path / "demo.yaml").write_text(
        yaml.safe_dump({**good, "metadata": {"name": "d"}, "scopes": ["demo-ticker"]})
    )
    (component,) = aca.generate(tmp_path)
    assert component["metadata"] == [{"name": "schedule", "value": "${TICK}"}]
    assert aca.settings_used([component]) == {"TICK"}
    assert "param TICK string" in aca.render([component])
    bad = [
        {**base, "spec": {"type": "secretstores.local.file", "version": "v1", "metadata": []}},
        {**base, "spec": {"type": "bindings.http", "version": "v1",
                          "metadata": [{"name": "t", "secretKeyRef": {"name": "a", "key": "b"}}]}},
        {**base, "spec": {"type": "bindings.http", "version": "v1",
                          "metadata": [{"name": "u", "value": "${x}"}]}},
        {**base, "auth": {"secretStore": "vault"}, "spec": {"type": "bindings.http", "version": "v1"}},
        {**good, "scopes": []},  # unscoped: every app in Dapr, so never silently dropped
    ]  # fmt: skip
    for doc in bad:
        (tmp_path / "q.yaml").write_text(yaml.safe_dump(doc))
        with pytest.raises(aca.AcaComponentError):
            aca.generate(tmp_path)
