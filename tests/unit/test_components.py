"""components/local and components/azure agree with each other, names.py, the apps and daprd."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprBlobStore, DaprQueue
from bindings.poison import DEFAULT_MAX_ATTEMPTS
from bindings.server import WORKERS
from functions.common import names
from functions.common.mail import DaprMailer, SendGridMailer
from functions.common.stripe_gateway import DaprStripeTransport
from tooling import cli, components, daprd
from tooling.paths import project_root
from tooling.stack import DEFAULTS, RUNTIME_PLACEHOLDERS

ROOT = project_root()
FOLDERS = {"local": ROOT / "components" / "local", "azure": ROOT / "components" / "azure"}
DECLARED = {component.name: component for component in names.COMPONENTS}
_OUTPUT_PORTS = (DaprBlobStore, DaprQueue, DaprMailer, SendGridMailer, DaprStripeTransport)


def app_id(module: ModuleType) -> str:
    """The Dapr app id a functions/*/app.py serves: its FunctionApp's name, or its APP_ID."""
    app = getattr(module, "app", None)
    if app is not None:
        assert isinstance(app, FunctionApp)
        return str(app.name)
    return str(module.APP_ID)


def function_modules() -> list[ModuleType]:
    """Every functions/*/app.py module."""
    return [
        importlib.import_module(f"functions.{path.parent.name}.app")
        for path in sorted((ROOT / "functions").glob("*/app.py"))
    ]


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_each_folder_declares_exactly_the_components_in_names(folder: str) -> None:
    """Same names, types, directions and scopes as functions/common/names.py (stores, pub/subs may differ)."""
    found = components.load(FOLDERS[folder])
    assert sorted(found) == sorted(DECLARED)
    for name, component in found.items():
        declared = DECLARED[name]
        assert sorted(component["scopes"]) == sorted(declared.apps), name
        assert component["metadata"].get("direction") == declared.direction, name
        if declared.type in {"state", "pubsub"}:
            assert component["type"].startswith(f"{declared.type}."), name
        else:
            assert component["type"] == declared.type, name


def test_local_and_azure_use_the_same_queues_and_containers() -> None:
    """The same component reaches the same queue or container in both environments."""
    assert components.storage_entities(FOLDERS["local"]) == components.storage_entities(FOLDERS["azure"])


def test_every_component_type_is_registered_in_the_daprd_build() -> None:
    """A type missing from deploy/daprd/components.go would fail to load at runtime."""
    registered = daprd.registered_types()
    for folder in FOLDERS.values():
        for name, component in components.load(folder).items():
            assert component["type"] in registered, f"{folder.name}/{name}: {component['type']}"


def test_local_placeholders_are_all_filled_by_the_stack() -> None:
    """Bindery run knows a value for every ${NAME} in components/local."""
    known = set(DEFAULTS) | RUNTIME_PLACEHOLDERS
    used = {
        m
        for path in FOLDERS["local"].glob("*.yaml")
        for m in re.findall(r"\$\{([A-Z0-9_]+)\}", path.read_text())
    }
    assert used <= known


def test_apps_use_only_declared_bindings_in_the_right_direction() -> None:
    """Triggers are input components scoped to the app; ports are output components scoped to it."""
    modules = function_modules()
    assert sorted(app_id(module) for module in modules) == sorted(names.APPS)
    for module in modules:
        name = app_id(module)
        for binding in module.app.bindings if name in names.FUNCTION_APPS else ():
            assert DECLARED[binding].direction == "input", binding
            assert name in DECLARED[binding].apps, binding
        values = [*vars(module).values(), *(getattr(v, "transport", None) for v in vars(module).values())]
        for port in (
            value for value in values if isinstance(value, _OUTPUT_PORTS)
        ):  # adapters: their transport
            assert DECLARED[port.binding].direction == "output", port.binding
            assert name in DECLARED[port.binding].apps, port.binding


def test_every_input_component_has_a_handler_in_each_app_it_is_scoped_to() -> None:
    """Daprd delivers every direction: input component it loads; an app without a handler would stall it."""
    handled = {
        app_id(module): set(module.app.bindings) if hasattr(module, "app") else set()
        for module in function_modules()
    }
    for component in names.COMPONENTS:
        if component.direction == "input":
            for app in component.apps:
                assert component.name in handled[app], f"{app} has no handler for {component.name}"


def test_render_fills_placeholders_and_refuses_unknown_ones(tmp_path: Path) -> None:
    """Rendering replaces ${NAME}; a placeholder without a value is a clear error."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.yaml").write_text("value: ${PORT}\n")
    components.render(source, tmp_path / "out", {"PORT": "1234"})
    assert (tmp_path / "out" / "a.yaml").read_text() == "value: 1234\n"
    (source / "b.yaml").write_text("value: ${MISSING}\n")
    with pytest.raises(KeyError, match="MISSING"):
        components.render(source, tmp_path / "out", {"PORT": "1"})


def test_dapr_yaml_runs_every_app_over_the_rendered_components(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dapr.yaml lists each app with a module that exists, gRPC, and the folder `bindery render` writes."""
    template = yaml.safe_load((ROOT / "dapr.yaml").read_text())
    assert template["common"]["resourcesPath"] == f"./{cli.DAPR_CLI_COMPONENTS}"
    assert template["common"]["appProtocol"] == "grpc"
    apps = {app["appID"]: app for app in template["apps"]}
    assert sorted(apps) == sorted(names.APPS)
    assert [a for a, app in apps.items() if app.get("appProtocol") == "http"] == list(names.HTTP_APPS)
    for app in apps.values():
        module = app["command"][app["command"].index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, module
        assert app["env"]["APP_PORT"] == str(app["appPort"])
    monkeypatch.setenv("BINDERY_ROOT", str(tmp_path))
    (tmp_path / "components").symlink_to(ROOT / "components")
    rendered = cli.render_for_dapr_cli()
    assert sorted(path.name for path in rendered.glob("*.yaml")) == sorted(
        path.name for path in FOLDERS["local"].glob("*.yaml")
    )
    assert "${" not in "".join(path.read_text() for path in rendered.glob("*.yaml"))


PUBSUB = FOLDERS["local"] / "domain-events.yaml"
PROBE_PUBSUB = ROOT / "tests" / "integration" / "components" / "probe-events.yaml"
_GO_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")


def seconds(value: str) -> float:
    """A Go duration as the components write them (`60s`, `500ms`, `2m`), in seconds."""
    match = _GO_DURATION.match(value)
    assert match, value
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match[2]]


def filled(value: str) -> str:
    """`value` with a `${NAME}` of the stack's DEFAULTS replaced by its default."""
    return re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: DEFAULTS.get(m[1], m[0]), value)


def test_the_local_pub_sub_is_redis_streams_on_the_stack_broker_with_redelivery_on() -> None:
    """domain-events is pubsub.redis v1 at ${REDIS_HOST}; a positive processing timeout and scan redeliver."""
    component = components.load(FOLDERS["local"])["domain-events"]
    assert (component["file"], component["type"], component["version"]) == (PUBSUB.name, "pubsub.redis", "v1")
    meta = {name: filled(str(value)) for name, value in component["metadata"].items()}
    assert component["metadata"]["redisHost"] == "${REDIS_HOST}"
    assert "REDIS_HOST" in RUNTIME_PLACEHOLDERS
    timeout, interval = seconds(meta["processingTimeout"]), seconds(meta["redeliverInterval"])
    assert 0 < interval < timeout  # "0" would turn redelivery off
    assert timeout >= seconds(DEFAULTS["QUEUE_VISIBILITY_TIMEOUT"])  # handlers get as long as on queues
    assert "consumerID" not in meta  # daprd uses the app id: one consumer group an app


def test_the_local_pub_sub_never_trims_a_stream_and_never_outruns_the_app() -> None:
    """No maxLenApprox or streamTTL (they drop unread events); fewer deliveries at once than app threads."""
    meta = components.load(FOLDERS["local"])["domain-events"]["metadata"]
    assert not {"maxLenApprox", "streamTTL"} & set(meta)
    concurrency, depth = int(meta["concurrency"]), int(meta["queueDepth"])
    assert WORKERS.default is not None
    assert 0 < concurrency < int(WORKERS.default)
    assert concurrency <= depth <= 100  # 100: the component's default buffer, which only grows the wait


def test_the_probe_pub_sub_is_the_local_one_scoped_to_the_probe() -> None:
    """tests/integration/components/probe-events.yaml: the same type and metadata, for the probe app only."""
    local = components.load(FOLDERS["local"])["domain-events"]
    probe = components.load(PROBE_PUBSUB.parent)["probe-events"]
    assert (probe["type"], probe["version"], probe["metadata"]) == (
        local["type"],
        local["version"],
        local["metadata"],
    )
    assert probe["scopes"] == ("probe",)


def _ladder_seconds(retry: dict[str, object]) -> float:
    """The longest an exponential retry policy can hold an event (0.5 s growing 1.5x, +50% jitter)."""
    assert retry["policy"] == "exponential"
    cap = float(str(retry["maxInterval"]).removesuffix("s"))
    return sum(min(0.5 * 1.5**attempt, cap) * 1.5 for attempt in range(int(str(retry["maxRetries"]))))


@pytest.mark.parametrize("folder", [FOLDERS["local"], ROOT / "tests" / "integration" / "components"])
def test_every_pubsub_retries_a_retry_answer_in_place_past_the_apps_attempts(folder: Path) -> None:
    """A RETRY answer is handed back in place more often than a route tries, within the redelivery timeout."""
    targets = {}
    for _, doc in components.resources(folder, "Resiliency"):
        retries = doc["spec"]["policies"]["retries"]
        for name, target in doc["spec"]["targets"]["components"].items():
            targets[name] = retries[target["inbound"]["retry"]]
    pubsubs = {name for name, found in components.load(folder).items() if found["type"].startswith("pubsub.")}
    assert pubsubs
    timeout = float(DEFAULTS["PUBSUB_PROCESSING_TIMEOUT"].removesuffix("s"))
    for name in pubsubs:
        assert name in targets, f"{name}: no inbound retry policy"
        assert int(targets[name]["maxRetries"]) >= DEFAULT_MAX_ATTEMPTS, name
        assert _ladder_seconds(targets[name]) < timeout, name


def test_every_state_store_has_its_own_file_or_table() -> None:
    """Locally each store has its own sqlite file, in Azure its own table prefix (aggregates included)."""
    for folder, key in (("local", "connectionString"), ("azure", "tablePrefix")):
        stores = {n: c for n, c in components.load(FOLDERS[folder]).items() if c["type"].startswith("state.")}
        assert names.AGGREGATES in stores, folder
        places = [str(store["metadata"][key]) for store in stores.values()]
        assert len(set(places)) == len(places), (folder, places)
