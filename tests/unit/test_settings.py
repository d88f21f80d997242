"""Settings: read at start into frozen objects, listed in docs/architecture.md, set by the Bicep."""

from __future__ import annotations

import dataclasses
import importlib
import re
from datetime import timedelta

import pytest

from bindings import server
from bindings.errors import SettingsError
from bindings.settings import Setting
from functions.common import names
from tests.unit.test_aca import DEPLOYED, apps
from tooling.paths import project_root

DOCS = project_root() / "docs" / "architecture.md"
EVERY_FUNCTION_APP = "every function app"


def app_settings() -> dict[str, tuple[Setting, ...]]:
    """Each app's settings: the server's for every FunctionApp, plus the app module's `SETTINGS`."""
    found = {}
    for app_id in names.APPS:
        module = importlib.import_module(f"functions.{app_id.replace('-', '_')}.app")
        own: tuple[Setting, ...] = getattr(module, "SETTINGS", ())
        found[app_id] = (*server.SETTINGS, *own) if app_id in names.FUNCTION_APPS else own
    return found


def table_rows() -> list[str]:
    """The docs table's rows as the code declares them: one per setting, with the apps that read it."""
    readers: dict[Setting, list[str]] = {}
    for app_id, settings in app_settings().items():
        for setting in settings:
            readers.setdefault(setting, []).append(app_id)
    rows = []
    for setting, users in sorted(readers.items(), key=lambda item: (item[0].name, item[1])):
        who = EVERY_FUNCTION_APP if users == list(names.FUNCTION_APPS) else ", ".join(users)
        if users == list(names.APPS):
            who = "every app"
        if setting.default is not None:
            default = f"`{setting.default}`" if setting.default else "empty"
        elif setting.unless:
            default = f"required unless `{setting.unless}`"
        else:
            default = "optional" if setting.optional else "required"
        cells = (f"`{setting.name}`", default, who, setting.meaning)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return rows


def test_the_docs_table_lists_exactly_the_settings_the_code_declares() -> None:
    """docs/architecture.md's Settings table is what the code declares (name, default, apps, meaning)."""
    text = DOCS.read_text()
    section = text[text.index("\n## Settings\n") :]
    section = section[: section.find("\n## ", 1)]
    documented = [line for line in section.splitlines() if re.match(r"\| `[A-Z_]+` \|", line)]
    assert documented == table_rows(), "\n".join(table_rows())


def test_the_bicep_sets_every_required_setting_of_each_deployed_app() -> None:
    """Every setting without a default (and not optional) is in the deployed app's env in main.bicep."""
    deployed = apps()
    settings = app_settings()
    checked = 0
    for app_id in DEPLOYED:
        env = {item["name"] for item in deployed[app_id]["env"]}
        for setting in settings[app_id]:
            if setting.required:
                checked += 1
                assert setting.name in env or setting.unless in env, (app_id, setting.name)
    assert checked >= 3  # SENDGRID_WEBHOOK_PUBLIC_KEY, STRIPE_WEBHOOK_SECRET, DOCUMENTS_ACCOUNT_URL


def test_the_bicep_sets_only_declared_settings() -> None:
    """Every variable main.bicep gives an app is a setting that app reads (no stale names)."""
    deployed, settings = apps(), app_settings()
    for app_id in DEPLOYED:
        env = {item["name"] for item in deployed[app_id]["env"]}
        assert env <= {setting.name for setting in settings[app_id]}, app_id


def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed() -> None:
    """Parsing errors are SettingsError (a ValueError) with the name, the value and the allowed values."""
    lease = Setting("RETRY_LEASE_SECONDS", "120", "lease")
    assert lease.seconds({}) == timedelta(seconds=120)
    with pytest.raises(SettingsError, match=r"RETRY_LEASE_SECONDS is 'soon'; allowed: a number"):
        lease.seconds({"RETRY_LEASE_SECONDS": "soon"})
    with pytest.raises(ValueError, match=r"X is 'c'; allowed: a, b"):
        Setting("X", "a", "x").choice({"X": "c"}, ("a", "b"))
    with pytest.raises(SettingsError, match=r"KEY is not set; the key"):
        Setting("KEY", None, "the key").string({})


def test_an_empty_value_is_kept_not_defaulted() -> None:
    """As with os.environ.get: a variable set to "" stays "", not the default (APP_HOST="": every address)."""
    assert Setting("APP_HOST", "127.0.0.1", "host").text({"APP_HOST": ""}) == ""
    assert server.ServerSettings.from_env({"APP_HOST": ""}).host == "[::]"


def test_app_settings_are_frozen_and_read_from_the_given_environment() -> None:
    """Each app's settings object is built by from_env(environ) and cannot be changed afterwards."""
    from functions.payment_retry.app import RetrySettings  # noqa: PLC0415

    settings = RetrySettings.from_env({"RETRY_TICK_BUDGET_SECONDS": "0.8"})
    assert settings == RetrySettings(lease=timedelta(seconds=120), tick_budget=timedelta(seconds=0.8))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.lease = timedelta(0)  # type: ignore[misc]


def test_a_bad_setting_stops_the_app_at_start_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """FunctionApp.start exits naming the bad variable before any port opens; hooks run there too."""
    from bindings.app import FunctionApp  # noqa: PLC0415

    monkeypatch.setattr("bindings.logs.configure", lambda *_args: None)  # keep pytest's log handlers
    app = FunctionApp("some-app")
    with pytest.raises(SystemExit, match=r"some-app: BINDERY_WORKERS is 'many'; allowed: a whole number"):
        app.start({"BINDERY_WORKERS": "many"})

    @app.on_start
    def refuse() -> None:
        raise SettingsError("EMAIL_PROVIDER is 'x'; allowed: smtp, sendgrid")

    with pytest.raises(SystemExit, match=r"some-app: EMAIL_PROVIDER is 'x'"):
        app.start({})
