"""Offline checks of the deployed subscribers: subscriptions, KEDA rules, scaler identity, resiliency."""

from __future__ import annotations

import importlib
import json
from typing import Any

from bindings.poison import DEFAULT_MAX_ATTEMPTS
from functions.common import names
from tests.unit.test_aca import ROLES, apps, bicep, dotted, granted, variable
from tooling import components
from tooling.paths import project_root

LOCAL_RESILIENCY = project_root() / "components" / "local"
DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419"


def _subscribed(app: dict[str, Any]) -> list[tuple[str, str]]:
    """(topic, dead-letter topic) of each subscription the app's code declares on domain-events."""
    module = importlib.import_module(f"functions.{app['function']}.app")
    found = getattr(getattr(module, "app", None), "subscriptions", ())
    assert all(sub.pubsub == names.DOMAIN_EVENTS for sub in found)
    return [(sub.topic, sub.dead_letter_topic) for sub in found]


def _call(module: str) -> dict[str, Any]:
    """The params main.bicep passes a module."""
    config = bicep("main.bicep")["modules"][module]["config"]
    params: dict[str, Any] = config.get("config", config)["params"]
    return params


def test_the_aggregator_subscribes_to_dunning_with_its_dead_letter_topic() -> None:
    """main.bicep's subscriptions hold the aggregator's `dunning` subscription, forwarding to dunning-dead."""
    assert {"topic": "dunning", "app": names.AGGREGATOR, "deadLetterTopic": "dunning-dead"} in variable(
        "subscriptions"
    )
    assert {"dunning", "dunning-dead"} <= set(variable("topics"))


def test_the_aggregator_subscribes_to_documents_which_receipt_render_publishes() -> None:
    """`documents` and `documents-dead` exist; the aggregator's subscription forwards to documents-dead."""
    assert {"topic": "documents", "app": names.AGGREGATOR, "deadLetterTopic": "documents-dead"} in variable(
        "subscriptions"
    )
    assert {"documents", "documents-dead"} <= set(variable("topics"))
    assert "documents" in apps()[names.AGGREGATOR]["topics"]


def test_each_deployed_subscription_is_the_one_its_app_declares_and_scales_it() -> None:
    """The Bicep subscriptions are the apps' own (topic, dead-letter topic); each topic is a scale rule."""
    declared = {(s["app"], s["topic"], s["deadLetterTopic"]) for s in variable("subscriptions")}
    in_code = {(name, topic, dead) for name, app in apps().items() for topic, dead in _subscribed(app)}
    assert declared == in_code
    assert (names.AGGREGATOR, "dunning", "dunning-dead") in declared
    for name, app in apps().items():
        assert sorted(app["topics"]) == sorted(topic for app_id, topic, _ in declared if app_id == name), name
    assert apps()[names.AGGREGATOR]["minReplicas"] == 0  # KEDA starts a replica for a waiting message


def test_the_topic_scale_rule_counts_the_apps_own_subscription_as_the_scaler() -> None:
    """azure-servicebus on the topic and the app's subscription (its id), in the namespace, as the scaler."""
    rules = variable("topicRules", "modules/app.bicep")
    assert rules["loop_type"]["detail"] == {"item_name": "topic", "array_name": "topics"}
    custom = rules["config"]["custom"]
    assert custom["type"] == "azure-servicebus"
    meta = custom["metadata"]
    assert (meta["topicName"], meta["subscriptionName"], meta["namespace"]) == (
        "topic",
        "name",
        "serviceBusName",
    )
    assert meta["messageCount"]["function"]["type"] == "string"  # KEDA metadata values are strings
    assert custom["identity"] == "scalerIdentityId"
    scale = bicep("modules/app.bicep")["resources"]["app"]["config"]["properties"]["template"]["scale"]
    assert "topicRules" in json.dumps(scale["rules"])
    params = _call("containerApps")
    assert (dotted(params["topics"]), dotted(params["serviceBusName"])) == (
        "app.topics",
        "serviceBus.outputs.name",
    )
    assert dotted(params["scalerIdentityId"]) == "scaler.outputs.id"


def test_only_the_scaler_identity_holds_data_owner_and_only_on_the_namespace() -> None:
    """scaler.bicep: its own identity, Data Owner on the namespace once subscriptions exist; apps never."""
    resources = bicep("modules/scaler.bicep")["resources"]
    grants = [
        r["config"] for r in resources.values() if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    (grant,) = grants
    config = grant["config"]
    assert dotted(config["properties"]["principalId"]) == "scaler.properties.principalId"
    assert config["scope"] == "serviceBus"
    assert resources["serviceBus"]["type"] == "Microsoft.ServiceBus/namespaces"
    operands = grant["loop_type"]["detail"]["array_name"]["operator"]["operands"]
    assert (operands["condition"], operands["false_value"]) == ("serviceBusScales", [])
    declared = bicep("modules/scaler.bicep")["variables"]
    roles = {declared[r]["value"] for r in declared[operands["true_value"]]["value"]}
    assert {ROLES[role] for role in roles} == {"Azure Service Bus Data Owner"}
    assert _call("scaler")["serviceBusScales"] == _call("identity")["serviceBusReceives"]
    assert dotted(_call("scaler")["serviceBusName"]) == "serviceBus.outputs.name"
    assert "Azure Service Bus Data Owner" not in {role for _, role in granted(subscribing=True)}
    assert DATA_OWNER not in json.dumps(bicep("modules/identity.bicep")["variables"])


def test_subscriber_apps_carry_the_scaler_identity_for_the_platform_only() -> None:
    """The app holds the scalers' identity with lifecycle None; its code keeps the apps' identity."""
    variables = bicep("modules/app.bicep")["variables"]
    (setting,) = variables["identitySettings"]["value"]["operator"]["operands"]["true_value"]
    assert setting == {"identity": "scalerIdentityId", "lifecycle": "None"}
    app = bicep("modules/app.bicep")["resources"]["app"]
    assert app["api_version"] >= "2025-01-01"  # scale rule identity, identitySettings
    config = app["config"]
    assert "scalerIdentities" in json.dumps(config["identity"]["userAssignedIdentities"])
    assert config["properties"]["configuration"]["identitySettings"] == "identitySettings"
    env = config["properties"]["template"]["containers"][0]["env"]
    assert "identityClientId" in json.dumps(env)
    assert "scaler" not in json.dumps(env).lower()


def test_the_domain_events_resiliency_policy_mirrors_the_local_one() -> None:
    """ACA retries a RETRY in place as components/local/resiliency.yaml does: 10 times, 0.5 s up to 4 s."""
    (resource,) = [
        r for r in bicep("modules/resiliency.bicep")["resources"].values()
        if r["type"] == "Microsoft.App/managedEnvironments/daprComponents/resiliencyPolicies"
    ]  # fmt: skip
    assert dotted(resource["config"]["parent"]) == "component"
    retry = resource["config"]["properties"]["inboundPolicy"]["httpRetryPolicy"]
    ((_, doc),) = components.resources(LOCAL_RESILIENCY, "Resiliency")
    target = doc["spec"]["targets"]["components"][names.DOMAIN_EVENTS]["inbound"]["retry"]
    local = doc["spec"]["policies"]["retries"][target]
    assert local["policy"] == "exponential"
    assert "initialInterval" not in local  # Dapr's default: 500 ms
    assert retry["maxRetries"] == int(local["maxRetries"]) >= DEFAULT_MAX_ATTEMPTS
    assert retry["retryBackOff"] == {
        "initialDelayInMilliseconds": 500,
        "maxIntervalInMilliseconds": int(str(local["maxInterval"]).removesuffix("s")) * 1000,
    }
    assert _call("daprResiliency")["componentName"] == names.DOMAIN_EVENTS
    generated = bicep("modules/components.bicep")["resources"].values()
    assert names.DOMAIN_EVENTS in {
        r["config"]["name"] for r in generated if r["type"].endswith("/daprComponents")
    }
