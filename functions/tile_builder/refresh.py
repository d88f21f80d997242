"""The tiles' schedule: which tiles are due, and a tick that rebuilds them (no Dapr: the ports only).

A tile is due when its `tile:{id}` is missing (never built, or expired), cannot be read as a `Tile`, or
was generated at least `EARLY` of its refresh ago: a tick firing a little early, or a build taking a
while, still rebuilds it on time. A tick reads every tile in one bulk read; then, per topic, the
counters of every day the due tiles of that topic need (`aggregates.totals_by_day`: a few bulk reads)
and, only when a due tile's builder is a `GaugeBuilder`, the topic's gauges (`aggregates.levels`: one
read); builds each due tile and saves it with its Spec's TTL. A tick reaches every replica, so two may
build the same tile at once: each saves a whole tile built from the counters, and the later one stays.
A tile that fails (its counters or gauges unreadable, its build, its save) is reported; the others go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from functions.common import aggregates
from functions.common.tiles import KEY_PREFIX, Tile
from functions.tile_builder import figures
from functions.tile_builder.builders import BUILDERS
from functions.tile_builder.case_builders import GaugeBuilder

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import date, datetime

    from bindings.ports import StateStore
    from functions.common.aggregates import Level, Tally
    from functions.common.tiles import Spec

EARLY: Final = 0.9  # a tile is due once this share of its refresh has passed since it was generated
NO_GAUGES: Final[figures.Gauges] = MappingProxyType({})  # what a tile that reads no gauges is given
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


def tick(
    aggregates_store: StateStore,
    tiles: StateStore,
    specs: Sequence[Spec],
    now: datetime,
    *,
    earlier: aggregates.Earlier | None = None,
) -> Report:
    """Rebuild every due tile of `specs` from the counters; one that fails does not hold back the others.

    `earlier`, kept by the process from tick to tick, spares re-reading the counts keys of shards of days
    before yesterday that have no totals key (`aggregates.Earlier`).
    """
    report = Report()
    current = stored(tiles, specs)
    due = [spec for spec in specs if is_due(spec, current[spec.id], now)]
    report.fresh = [spec.id for spec in specs if spec not in due]
    if earlier is not None:
        earlier.settled_before = now.date() - timedelta(days=1)
    counters = _Counters(aggregates_store, due, now.date(), earlier)
    for spec in due:
        try:
            tile = build(spec, counters.of(spec), now, counters.gauges(spec))
            tiles.save(tile.key, tile.model_dump_json().encode(), ttl_seconds=spec.ttl_seconds)
        except Exception as error:  # noqa: BLE001 - one tile's failure must not hold the others back
            report.failed[spec.id] = f"{type(error).__name__}: {error}"
            continue
        report.built.append(spec.id)
    return report


def build(spec: Spec, days: figures.Days, now: datetime, gauges: figures.Gauges = NO_GAUGES) -> Tile:
    """`spec`'s tile from its topic's counters by day (and gauges, for a `GaugeBuilder`), at `now`."""
    builder = BUILDERS[spec.id]
    data = builder.build(days, gauges, now) if isinstance(builder, GaugeBuilder) else builder.build(days, now)
    if data.template != spec.template:
        raise ValueError(f"tile {spec.id} is a {spec.template} in the catalogue, built as {data.template}")
    return Tile(
        id=spec.id, title=spec.title, generated_at=now, refresh_seconds=spec.refresh_seconds, data=data
    )


class _Counters:
    """Each topic's counters by day and its gauges, each read once a tick, and only if a due tile needs it.

    The counters from the earliest day a due tile needs to today; the gauges for a `GaugeBuilder`'s tile.
    """

    def __init__(
        self, store: StateStore, due: Sequence[Spec], today: date, earlier: aggregates.Earlier | None
    ) -> None:
        self._store, self._today, self._earlier = store, today, earlier
        self._first: dict[str, date] = {}
        for spec in due:
            builder = BUILDERS.get(spec.id)
            if builder is not None and builder.first_day is not None:
                first = builder.first_day(today)
                self._first[builder.topic] = min(first, self._first.get(builder.topic, first))
        self._read: dict[str, Mapping[date, Mapping[str, Tally]] | Exception] = {}
        self._levels: dict[str, Mapping[str, Level] | Exception] = {}

    def gauges(self, spec: Spec) -> figures.Gauges:
        """The gauges `spec`'s builder reads (only a `GaugeBuilder` reads any); raises what reading raised."""
        builder = BUILDERS[spec.id]
        if not isinstance(builder, GaugeBuilder):
            return NO_GAUGES
        if builder.topic not in self._levels:
            try:
                self._levels[builder.topic] = aggregates.levels(self._store, builder.topic)
            except Exception as error:  # noqa: BLE001 - reported with each tile reading them
                self._levels[builder.topic] = error
        found = self._levels[builder.topic]
        if isinstance(found, Exception):
            raise found
        return found

    def of(self, spec: Spec) -> figures.Days:
        """The counters `spec`'s builder reads; raises what reading them raised (once a tick a topic)."""
        if spec.id not in BUILDERS:
            raise LookupError(f"no builder for tile {spec.id}")
        builder = BUILDERS[spec.id]
        topic = builder.topic
        if builder.first_day is None:
            return {}
        if topic not in self._read:
            first = self._first[topic]
            days = figures.span(self._today, (self._today - first).days + 1)
            try:
                self._read[topic] = aggregates.totals_by_day(self._store, topic, days, earlier=self._earlier)
            except Exception as error:  # noqa: BLE001 - reported with each tile of the topic
                self._read[topic] = error
        found = self._read[topic]
        if isinstance(found, Exception):
            raise found
        return found
