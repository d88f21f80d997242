"""The aggregator's counters as stored: what the aggregator writes and the tile builder reads (issue 18, 19).

Per day (UTC) and topic, `SHARDS` shards in the `aggregates` state store, each in two keys written in
one state transaction: `counts:{topic}:{yyyy-mm-dd}:{shard}`, a `Counts` (version 1: a tally per
dimension, `EUR/recovered`, `-/sent`…, count and sum of amounts in minor units, and the ids of the
events it has counted), guarded by its ETag; and `totals:{topic}:{yyyy-mm-dd}:{shard}`, a `Totals`
(version 1: the same tallies, without the ids). Readers read the totals only, so what a tile reads
does not grow with the events a day. A shard without its totals key is read as its counts key: written
before totals existed (or never written: both absent). Per topic, `SHARDS` keys `gauges:{topic}:{shard}`
hold `Levels` (version 1): all-time levels that go up and down (open cases by currency and step), moved
in the same transaction as the counts key that dedupes the event, each guarded by its own ETag. Which
shard an event lands in, and what it adds, is the aggregator's business (functions/aggregator).
Readers: `totals` (one day), `totals_by_day` (many days in few bulk reads), `levels` (a topic's gauges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import date

    from bindings.ports import StateStore

SHARDS: Final = 16
READ_BATCH: Final = 512  # keys a bulk read asks for at most: 32 days of one topic
KEY_PREFIX: Final = "counts:"
TOTALS_PREFIX: Final = "totals:"
GAUGES_PREFIX: Final = "gauges:"
HOURS_CAP: Final = 999  # `-/recovered.hours.{h}`: recoveries this many hours after the failure or more


class Tally(BaseModel):
    """Events counted under one dimension, and the sum of their amounts (minor units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=0)
    amount: int = Field(ge=0)

    def plus(self, other: Tally) -> Tally:
        """The two tallies added."""
        return Tally(count=self.count + other.count, amount=self.amount + other.amount)


ZERO: Final = Tally(count=0, amount=0)


class Counts(BaseModel):
    """One shard of a day's counters for a topic, with the ids of the events it has counted (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    tallies: dict[str, Tally] = {}
    seen: tuple[str, ...] = ()


Whole = Annotated[int, Field(ge=0)]


class Totals(BaseModel):
    """One shard of a day's counters for a topic, its tallies only, each as `[count, amount]` (version 1).

    Pairs, not `Tally` objects: what every tile reads, so half the bytes of `Counts`' tallies, and read
    without a model a tally.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    tallies: dict[str, tuple[Whole, Whole]] = {}

    @classmethod
    def of(cls, tallies: Mapping[str, Tally]) -> Totals:
        """The totals of `tallies` (valid already: built without validating them again)."""
        return cls.model_construct(tallies={name: (t.count, t.amount) for name, t in tallies.items()})


class Level(BaseModel):
    """A gauge: how many (any sign in one shard: a case's moves land in several) and their amount."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int
    amount: int

    def plus(self, other: Level) -> Level:
        """The two levels added."""
        return Level(count=self.count + other.count, amount=self.amount + other.amount)


class Levels(BaseModel):
    """One shard of a topic's gauges (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    levels: dict[str, Level] = {}


def key(topic: str, day: date, shard: int) -> str:
    """The counts key of one shard of `topic`'s counters on `day`."""
    return f"{KEY_PREFIX}{topic}:{day.isoformat()}:{shard}"


def totals_key(topic: str, day: date, shard: int) -> str:
    """The totals key of one shard of `topic`'s counters on `day`."""
    return f"{TOTALS_PREFIX}{topic}:{day.isoformat()}:{shard}"


def gauges_key(topic: str, shard: int) -> str:
    """The key of one shard of `topic`'s gauges."""
    return f"{GAUGES_PREFIX}{topic}:{shard}"


def shard_keys(topic: str, day: date) -> list[str]:
    """The counts keys of every shard of `topic`'s counters on `day`."""
    return [key(topic, day, shard) for shard in range(SHARDS)]


def totals_keys(topic: str, day: date) -> list[str]:
    """The totals keys of every shard of `topic`'s counters on `day`."""
    return [totals_key(topic, day, shard) for shard in range(SHARDS)]


def added(tallies: Iterable[Mapping[str, Tally]]) -> dict[str, Tally]:
    """Many tallies by dimension, added up by dimension."""
    return _tallies(((n, (t.count, t.amount)) for found in tallies for n, t in found.items()))


def summed(shards: Iterable[Counts | Totals]) -> dict[str, Tally]:
    """The tallies of every shard of a day, added up by dimension."""
    return _tallies(
        pair
        for shard in shards
        for pair in (
            shard.tallies.items()
            if isinstance(shard, Totals)
            else ((n, (t.count, t.amount)) for n, t in shard.tallies.items())
        )
    )


def _tallies(pairs: Iterable[tuple[str, tuple[int, int]]]) -> dict[str, Tally]:
    """(dimension, (count, amount)) pairs added up by dimension, in plain integers.

    Each sum becomes a `Tally` once, without validating it again: a sum of counts and amounts that
    were each validated (whole, not below 0) is one too. The tiles add up tens of thousands a refresh.
    """
    sums: dict[str, list[int]] = {}
    for name, (count, amount) in pairs:
        both = sums.get(name)
        if both is None:
            sums[name] = [count, amount]
        else:
            both[0] += count
            both[1] += amount
    return {name: Tally.model_construct(count=count, amount=amount) for name, (count, amount) in sums.items()}


def totals(store: StateStore, topic: str, day: date) -> dict[str, Tally]:
    """Every dimension's tally for `topic` on `day` (all shards)."""
    return totals_by_day(store, topic, [day])[day]


@dataclass
class Earlier:
    """What the counts keys of settled days' shards without a totals key held, kept between reads.

    A day before `settled_before` gets no write of the earlier layout any more (its replicas are gone;
    one still counting a late event for such a day while the new release rolls out is missed until the
    process keeping this restarts), and a write of this layout gives the shard its totals key, which is
    read first. So what such a counts key held, or that there was none, stays true: it is read once a
    process, not every time. A reader keeping one moves `settled_before` on (the tile builder: yesterday).
    """

    settled_before: date
    kept: dict[str, Totals | None] = field(default_factory=dict)  # the tallies alone, not the ids
    LIMIT: ClassVar[int] = 50_000  # shards kept (about two years of four topics) before starting afresh

    def keep(self, name: str, found: Counts | None) -> None:
        """Keep the tallies counts key `name` of a settled day held (None: it held nothing)."""
        if len(self.kept) >= self.LIMIT:
            self.kept.clear()
        self.kept[name] = Totals.of(found.tallies) if found else None


def totals_by_day(
    store: StateStore, topic: str, days: Sequence[date], *, earlier: Earlier | None = None
) -> dict[date, dict[str, Tally]]:
    """Each of `days`' tallies for `topic` (a day nothing was counted on: empty), `READ_BATCH` keys a read.

    The totals keys first; then the counts keys of the shards that have none (see the module's
    docstring), except those of settled days `earlier` has kept.
    """
    values = _read(store, [name for day in days for name in totals_keys(topic, day)])
    kept = earlier.kept if earlier is not None else {}
    shards: list[Counts | Totals | None] = []
    unread: list[tuple[int, str]] = []  # shards without a totals key, and not kept: their counts keys
    for index, value in enumerate(values):
        if value:
            shards.append(Totals.model_validate_json(value))
            continue
        name = _counts_key(topic, days, index)
        shards.append(kept.get(name))
        if name not in kept:
            unread.append((index, name))
    older = _read(store, [name for _, name in unread])
    for (index, name), value in zip(unread, older, strict=True):
        found = Counts.model_validate_json(value) if value else None
        shards[index] = found
        if earlier is not None and days[index // SHARDS] < earlier.settled_before:
            earlier.keep(name, found)
    return {
        day: summed(shard for shard in shards[n * SHARDS : (n + 1) * SHARDS] if shard is not None)
        for n, day in enumerate(days)
    }


def levels(store: StateStore, topic: str) -> dict[str, Level]:
    """Every gauge of `topic`, its shards added up (one read)."""
    items = store.get_many([gauges_key(topic, shard) for shard in range(SHARDS)])
    return added_levels(Levels.model_validate_json(item.value).levels for item in items if item.value)


def added_levels(levels: Iterable[Mapping[str, Level]]) -> dict[str, Level]:
    """Many gauges by name (shards, or a shard and the moves of an event), added up by name."""
    total: dict[str, Level] = {}
    for found in levels:
        for name, level in found.items():
            total[name] = total[name].plus(level) if name in total else level
    return total


def _counts_key(topic: str, days: Sequence[date], index: int) -> str:
    """The counts key of the `index`-th shard of `days` (`SHARDS` a day)."""
    return key(topic, days[index // SHARDS], index % SHARDS)


def _read(store: StateStore, names: Sequence[str]) -> list[bytes | None]:
    values: list[bytes | None] = []
    for start in range(0, len(names), READ_BATCH):
        values += [item.value for item in store.get_many(names[start : start + READ_BATCH])]
    return values
