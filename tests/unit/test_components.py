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
    """Same names, types, directions and scopes as functions/common/names.py (state stores may differ)."""
    found = components.load(FOLDERS[folder])
    assert sorted(found) == sorted(DECLARED)
    for name, component in found.items():
        declared = DECLARED[name]
        assert sorted(component["scopes"]) == sorted(declared.apps), name
        assert component["metadata"].get("direction") == declared.direction, name
        if declared.type == "state":
            assert component["type"].startswith("state."), name
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
    assert [a for a, app in apps.items() if app.get("appProtocol") == "http"] == list(names.WEBHOOK_APPS)
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
