"""Finding daprd: the pinned version, the registration list and the cache key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bindings.dev import daprd


def test_the_pinned_version_is_a_1_18_or_newer_release() -> None:
    """deploy/daprd pins one dapr release of the 1.18 series or later."""
    major, minor, _patch = (int(part) for part in daprd.pinned_version().split("."))
    assert (major, minor) >= (1, 18)


def test_registered_types_cover_the_design_component_set() -> None:
    """Every binding, state store and secret store DESIGN.md names is registered."""
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
        "secretstores.local.file",
        "secretstores.local.env",
    } <= daprd.registered_types()


def test_the_cache_key_names_the_version() -> None:
    """The build cache is keyed by version and a digest of the module."""
    assert daprd.build_key().startswith(daprd.pinned_version() + "-")


def fake_daprd(path: Path, version: str) -> Path:
    """A script that answers --version like daprd."""
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_a_compatible_user_daprd_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$DAPRD in the pinned minor series is used as is, without building."""
    binary = fake_daprd(tmp_path / "daprd", daprd.pinned_version())
    monkeypatch.setenv("DAPRD", str(binary))
    monkeypatch.setenv("PATH", os.defpath)
    monkeypatch.setattr(daprd, "build", lambda: pytest.fail("must not build"))
    assert daprd.find_or_build() == binary


def test_an_incompatible_user_daprd_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daprd of another minor series is passed over for the cached build."""
    monkeypatch.setenv("DAPRD", str(fake_daprd(tmp_path / "daprd", "1.9.0")))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", os.defpath)
    built = tmp_path / "built"
    monkeypatch.setattr(daprd, "build", lambda: built)
    assert daprd.find_or_build() == built
