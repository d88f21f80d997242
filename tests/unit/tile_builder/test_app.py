"""tile-builder's app: its one trigger and two stores, its settings, and a tick that fails loudly."""

from __future__ import annotations

import logging

import pytest

from bindings.dapr_ports import DaprStateStore
from bindings.errors import SettingsError, TransientError
from bindings.testing import MemoryStateStore
from functions.common import names
from functions.common.tiles import CATALOGUE
from functions.tile_builder import app as builder
from functions.tile_builder.app import TileSettings


def test_the_app_ticks_on_its_cron_and_reads_only_the_aggregates_never_the_cases() -> None:
    """`dashboard-tick` is its only trigger; its stores are `aggregates` (read) and `tiles`, no other."""
    assert builder.app.bindings == (names.DASHBOARD_TICK,)
    assert builder.app.subscriptions == ()
    stores = {value.store for value in vars(builder).values() if isinstance(value, DaprStateStore)}
    assert stores == {names.AGGREGATES, names.TILES}


def test_empty_settings_keep_the_catalogue_and_set_ones_override_every_tile() -> None:
    """Unset or empty: the catalogue as written; 5 and 7: every tile refreshed at 5 s and kept 7 s."""
    assert TileSettings.from_env({}).catalogue() == CATALOGUE
    assert (
        TileSettings.from_env({"TILE_REFRESH_SECONDS": "", "TILE_TTL_SECONDS": ""}).catalogue() == CATALOGUE
    )
    short = TileSettings.from_env({"TILE_REFRESH_SECONDS": "5", "TILE_TTL_SECONDS": "7"}).catalogue()
    assert [spec.id for spec in short] == [spec.id for spec in CATALOGUE]
    assert {(spec.refresh_seconds, spec.ttl_seconds) for spec in short} == {(5, 7)}


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "soon"])
def test_a_bad_override_names_the_variable(value: str) -> None:
    """Not a whole number of seconds above 0: `SettingsError` naming TILE_TTL_SECONDS and the value."""
    with pytest.raises(SettingsError, match=rf"TILE_TTL_SECONDS is '{value}'"):
        TileSettings.from_env({"TILE_TTL_SECONDS": value})


def test_a_tick_saves_what_it_can_then_raises_naming_each_failed_tile(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A tile whose save fails is logged and named in the TransientError; the other tiles are saved."""

    class RefusesOne(MemoryStateStore):
        def save(
            self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
        ) -> None:
            if key == "tile:lost":
                raise TransientError("tiles store busy")
            super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    tiles = RefusesOne()
    monkeypatch.setattr(builder, "counters", MemoryStateStore())
    monkeypatch.setattr(builder, "tiles", tiles)
    caplog.set_level(logging.INFO, logger=builder.__name__)
    with pytest.raises(TransientError, match=r"^lost: TransientError: tiles store busy$"):
        builder.on_tick(None)  # type: ignore[arg-type]
    assert len(tiles.keys("tile:")) == len(CATALOGUE) - 1
    assert "tile lost not built: TransientError: tiles store busy" in caplog.messages
