"""The aggregator's counters as stored: what the aggregator writes and the tile builder reads (issue 18, 19).

Per day (UTC) and topic, `SHARDS` keys `counts:{topic}:{yyyy-mm-dd}:{shard}` in the `aggregates` state
store, each a `Counts` (version 1): a tally per dimension (`EUR/recovered`, `-/sent`…: count and sum of
amounts in minor units) and the ids of the events it has counted. Which shard an event lands in, and
what it adds, is the aggregator's business (functions/aggregator); a reader adds up every shard of a day.
Readers: `totals` (one day, one bulk read) and `totals_by_day` (many days in few bulk reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date

    from bindings.ports import StateStore

SHARDS: Final = 16
READ_BATCH: Final = 512  # keys a bulk read asks for at most: 32 days of one topic
KEY_PREFIX: Final = "counts:"


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


def key(topic: str, day: date, shard: int) -> str:
    """The key of one shard of `topic`'s counters on `day`."""
    return f"{KEY_PREFIX}{topic}:{day.isoformat()}:{shard}"


def shard_keys(topic: str, day: date) -> list[str]:
    """The keys of every shard of `topic`'s counters on `day`."""
    return [key(topic, day, shard) for shard in range(SHARDS)]


def summed(shards: Iterable[Counts]) -> dict[str, Tally]:
    """The tallies of every shard of a day, added up by dimension."""
    total: dict[str, Tally] = {}
    for shard in shards:
        for name, tally in shard.tallies.items():
            total[name] = total[name].plus(tally) if name in total else tally
    return total


def totals(store: StateStore, topic: str, day: date) -> dict[str, Tally]:
    """Every dimension's tally for `topic` on `day` (all shards, one read)."""
    return summed(
        Counts.model_validate_json(item.value)
        for item in store.get_many(shard_keys(topic, day))
        if item.value
    )


def totals_by_day(store: StateStore, topic: str, days: Sequence[date]) -> dict[date, dict[str, Tally]]:
    """Each of `days`' tallies for `topic` (a day nothing was counted on: empty), `READ_BATCH` keys a read."""
    keys = [name for day in days for name in shard_keys(topic, day)]
    values: list[bytes | None] = []
    for start in range(0, len(keys), READ_BATCH):
        values += [item.value for item in store.get_many(keys[start : start + READ_BATCH])]
    return {
        day: summed(
            Counts.model_validate_json(value)
            for value in values[index * SHARDS : (index + 1) * SHARDS]
            if value
        )
        for index, day in enumerate(days)
    }
