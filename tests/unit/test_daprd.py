"""Finding daprd: the pinned versions, the registration lists and the cache keys of both builds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tooling import components, daprd
from tooling.daprd_builds import BUILDS
from tooling.paths import project_root

BUILD_NAMES = [build.name for build in BUILDS]
COMPONENT_FOLDERS = [project_root() / "components" / name for name in ("local", "azure")]


def test_the_default_build_pins_a_1_18_or_newer_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/daprd, used when nothing is selected, pins one dapr release of 1.18 or later."""
    monkeypatch.delenv("BINDERY_DAPR", raising=False)
    major, minor, _patch = (int(part) for part in daprd.pinned_version().split("."))
    assert (major, minor) >= (1, 18)
    assert daprd.source_dir().name == "daprd"


def test_the_aca_build_pins_the_1_16_line_azure_runs() -> None:
    """deploy/daprd-aca pins a 1.16 release at or after 1.16.2 (APP_API_TOKEN on binding events)."""
    major, minor, patch = (int(part) for part in daprd.pinned_version("aca").split("."))
    assert (major, minor) == (1, 16)
    assert patch >= 2  # the first 1.16 patch that sends APP_API_TOKEN to OnBindingEvent


@pytest.mark.parametrize("name", BUILD_NAMES)
def test_registered_types_cover_the_design_component_set(name: str) -> None:
    """Every binding, state store, pub/sub and secret store DESIGN.md names is registered, in both builds."""
    assert {
        "bindings.cron",
        "bindings.azure.storagequeues",
        "bindings.azure.blobstorage",
        "bindings.http",
        "bindings.smtp",
        "bindings.twilio.sendgrid",
        "state.sqlite",
        "state.postgresql",
        "state.redis",
        "pubsub.redis",
        "pubsub.azure.servicebus.topics",
        "secretstores.local.file",
        "secretstores.local.env",
    } <= daprd.registered_types(name)


@pytest.mark.parametrize("name", BUILD_NAMES)
@pytest.mark.parametrize("folder", COMPONENT_FOLDERS, ids=lambda folder: folder.name)
def test_every_component_type_is_registered_in_each_build(name: str, folder: Path) -> None:
    """A components/ type missing from either module's components.go would fail to load."""
    registered = daprd.registered_types(name)
    for component_name, component in components.load(folder).items():
        assert component["type"] in registered, f"{name}: {folder.name}/{component_name}"


def test_both_builds_register_the_same_type_names() -> None:
    """The ACA build registers exactly the default build's types, so the same components load."""
    assert daprd.registered_types("aca") == daprd.registered_types("local")


@pytest.mark.parametrize("shared", ["main.go", "_upstream/zz_notag.go"])
def test_both_modules_share_the_entry_point_and_the_upstream_patch(shared: str) -> None:
    """main.go and the emptied zz_notag.go are the same file in both modules."""
    local, aca = (daprd.source_dir(name) / shared for name in ("local", "aca"))
    assert local.read_bytes() == aca.read_bytes()


@pytest.mark.parametrize("name", BUILD_NAMES)
def test_the_cache_key_names_the_version(name: str) -> None:
    """Each build's cache is keyed by its version and a digest of its module."""
    assert daprd.build_key(name).startswith(daprd.pinned_version(name) + "-")


def test_the_builds_are_cached_side_by_side() -> None:
    """The two builds have different keys, so both live in the cache at once."""
    assert daprd.build_key("local") != daprd.build_key("aca")


def fake_daprd(path: Path, version: str) -> Path:
    """A script that answers --version like daprd."""
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize("name", BUILD_NAMES)
def test_a_user_daprd_of_the_selected_series_is_preferred(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$DAPRD in the selected build's minor series is used as is, without building."""
    binary = fake_daprd(tmp_path / "daprd", daprd.pinned_version(name))
    monkeypatch.setenv("DAPRD", str(binary))
    monkeypatch.setenv("PATH", os.defpath)
    monkeypatch.setenv("BINDERY_DAPR", name)
    monkeypatch.setattr(daprd, "build", lambda _choice=None: pytest.fail("must not build"))
    assert daprd.find_or_build() == binary


@pytest.mark.parametrize(("name", "other"), [("local", "aca"), ("aca", "local")])
def test_a_user_daprd_of_the_other_series_is_skipped(
    name: str, other: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daprd of the other build's series (or any other) is passed over for the selected build."""
    monkeypatch.setenv("DAPRD", str(fake_daprd(tmp_path / "daprd", daprd.pinned_version(other))))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", os.defpath)
    built: list[str | None] = []

    def build(choice: str | None = None) -> Path:
        built.append(choice)
        return tmp_path / "built"

    monkeypatch.setattr(daprd, "build", build)
    assert daprd.find_or_build(name) == tmp_path / "built"
    assert built == [name]
