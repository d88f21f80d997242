"""tile-builder: the dashboard's tiles, each rebuilt on its own schedule from the aggregator's counters.

The `dashboard-tick` cron reads the catalogue (`functions.common.tiles.CATALOGUE`), rebuilds each tile
that is due (`refresh`) from the `aggregates` store only (never the cases) and saves it to the `tiles`
store with its TTL, where the dashboard reads it. A tile that fails is logged and the others go on;
the tick then raises, so the framework logs and counts it (daprd drops a cron handler's error).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bindings.app import CronTick, FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprStateStore
from bindings.errors import TransientError
from bindings.settings import Setting
from functions.common import aggregates, names
from functions.common.tiles import CATALOGUE, Spec
from functions.tile_builder import refresh

if TYPE_CHECKING:
    from collections.abc import Mapping

REFRESH = Setting(
    "TILE_REFRESH_SECONDS", "", "every tile's refresh (s) instead of the catalogue's; empty: the catalogue's"
)
TTL = Setting(
    "TILE_TTL_SECONDS", "", "every tile's TTL (s) instead of the catalogue's; empty: the catalogue's"
)
SETTINGS = (REFRESH, TTL)


@dataclass(frozen=True)
class TileSettings:
    """tile-builder's settings, read once at start: overrides of the catalogue's timings (tests use them)."""

    refresh_seconds: int | None
    ttl_seconds: int | None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TileSettings:
        """Read and check the settings; `SettingsError` names a bad one."""
        return cls(refresh_seconds=_positive(REFRESH, environ), ttl_seconds=_positive(TTL, environ))

    def catalogue(self) -> tuple[Spec, ...]:
        """The catalogue with these overrides applied."""
        overrides = {"refresh_seconds": self.refresh_seconds, "ttl_seconds": self.ttl_seconds}
        update = {name: value for name, value in overrides.items() if value is not None}
        return tuple(Spec.model_validate({**spec.model_dump(), **update}) for spec in CATALOGUE)


def _positive(setting: Setting, environ: Mapping[str, str]) -> int | None:
    if not setting.string(environ):
        return None
    value = setting.integer(environ)
    if value <= 0:
        raise setting.refused(str(value), "a whole number of seconds above 0, or empty")
    return value


_log = logging.getLogger(__name__)
app = FunctionApp(names.TILE_BUILDER)
clock = SystemClock()
counters = DaprStateStore(names.AGGREGATES)  # read only: the aggregator writes it
tiles = DaprStateStore(names.TILES)
# Settled days' shards read from their counts key (no totals key), kept from tick to tick: `refresh.tick`.
earlier = aggregates.Earlier(settled_before=date.min)


@functools.cache
def catalogue() -> tuple[Spec, ...]:
    """The catalogue as this process builds it, from the settings on first use (at start)."""
    return TileSettings.from_env(os.environ).catalogue()


@app.on_start
def _start() -> None:
    """Read the settings before the port opens: a bad one stops the app with its message."""
    catalogue()


@app.cron(names.DASHBOARD_TICK)
def on_tick(tick: CronTick) -> None:
    """Rebuild the tiles that are due; one that fails is logged, the others saved, and the tick raises."""
    del tick
    report = refresh.tick(counters, tiles, catalogue(), clock.now(), earlier=earlier)
    if report.built:
        _log.info("built %d tiles: %s", len(report.built), ", ".join(report.built))
    for tile_id, error in sorted(report.failed.items()):
        _log.error("tile %s not built: %s", tile_id, error)
    if report.failed:
        raise TransientError(
            "; ".join(f"{tile_id}: {error}" for tile_id, error in sorted(report.failed.items()))
        )


if __name__ == "__main__":
    app.run()
