"""The tiles' schedule: which tiles are due, and a tick that rebuilds them (no Dapr: the ports only).

A tile is due when its `tile:{id}` is missing (never built, or expired), cannot be read as a `Tile`, or
was generated at least `EARLY` of its refresh ago: a tick firing a little early, or a build taking a
while, still rebuilds it on time. A tick reads every tile in one bulk read; then, per topic, the
counters of every day the due tiles of that topic need (`aggregates.totals_by_day`: a few bulk reads);
builds each due tile and saves it with its Spec's TTL. A tick reaches every replica, so two may build
the same tile at once: each saves a whole tile built from the counters, and the later one stays.
A tile that fails (its counters unreadable, its build, its save) is reported; the others go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from functions.common import aggregates
from functions.common.tiles import KEY_PREFIX, Tile
from functions.tile_builder import figures
from functions.tile_builder.builders import BUILDERS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date, datetime

    from bindings.ports import StateStore
    from functions.common.aggregates import Tally
    from functions.common.tiles import Spec

EARLY: Final = 0.9  # a tile is due once this share of its refresh has passed since it was generated
_log = logging.getLogger(__name__)


@dataclass
class Report:
    """What a tick did: the tiles built, those still fresh, and those that failed (id -> error)."""

    built: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def is_due(spec: Spec, tile: Tile | None, now: datetime) -> bool:
    """Whether `spec`'s tile must be built: missing, or generated `EARLY` of its refresh ago or more."""
    if tile is None:
        return True
    return now - tile.generated_at >= timedelta(seconds=spec.refresh_seconds * EARLY)


def stored(tiles: StateStore, specs: Sequence[Spec]) -> dict[str, Tile | None]:
    """Every tile of `specs` as stored (one read); None when missing or not a readable `Tile`."""
    found: dict[str, Tile | None] = {}
    for spec, item in zip(specs, tiles.get_many([f"{KEY_PREFIX}{spec.id}" for spec in specs]), strict=True):
        try:
            found[spec.id] = Tile.model_validate_json(item.value) if item.value else None
        except ValidationError:
            _log.warning("tile %s unreadable: built again", spec.id)
            found[spec.id] = None
    return found


def tick(aggregates_store: StateStore, tiles: StateStore, specs: Sequence[Spec], now: datetime) -> Report:
    """Rebuild every due tile of `specs` from the counters; one that fails does not hold back the others."""
    report = Report()
    current = stored(tiles, specs)
    due = [spec for spec in specs if is_due(spec, current[spec.id], now)]
    report.fresh = [spec.id for spec in specs if spec not in due]
    counters = _Counters(aggregates_store, due, now.date())
    for spec in due:
        try:
            tile = build(spec, counters.of(spec), now)
            tiles.save(tile.key, tile.model_dump_json().encode(), ttl_seconds=spec.ttl_seconds)
        except Exception as error:  # noqa: BLE001 - one tile's failure must not hold the others back
            report.failed[spec.id] = f"{type(error).__name__}: {error}"
            continue
        report.built.append(spec.id)
    return report


def build(spec: Spec, days: figures.Days, now: datetime) -> Tile:
    """`spec`'s tile from its topic's counters by day, generated at `now`."""
    data = BUILDERS[spec.id].build(days, now)
    if data.template != spec.template:
        raise ValueError(f"tile {spec.id} is a {spec.template} in the catalogue, built as {data.template}")
    return Tile(
        id=spec.id, title=spec.title, generated_at=now, refresh_seconds=spec.refresh_seconds, data=data
    )


class _Counters:
    """Each topic's counters by day, read once a tick (from the earliest day a due tile needs to today)."""

    def __init__(self, store: StateStore, due: Sequence[Spec], today: date) -> None:
        self._store, self._today = store, today
        self._first: dict[str, date] = {}
        for spec in due:
            builder = BUILDERS.get(spec.id)
            if builder is not None:
                first = builder.first_day(today)
                self._first[builder.topic] = min(first, self._first.get(builder.topic, first))
        self._read: dict[str, Mapping[date, Mapping[str, Tally]] | Exception] = {}

    def of(self, spec: Spec) -> figures.Days:
        """The counters `spec`'s builder reads; raises what reading them raised (once a tick a topic)."""
        if spec.id not in BUILDERS:
            raise LookupError(f"no builder for tile {spec.id}")
        topic = BUILDERS[spec.id].topic
        if topic not in self._read:
            first = self._first[topic]
            days = figures.span(self._today, (self._today - first).days + 1)
            try:
                self._read[topic] = aggregates.totals_by_day(self._store, topic, days)
            except Exception as error:  # noqa: BLE001 - reported with each tile of the topic
                self._read[topic] = error
        found = self._read[topic]
        if isinstance(found, Exception):
            raise found
        return found
