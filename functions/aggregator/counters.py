"""The day's counters in a state store: each event counted once, in the same transaction as its dedupe.

Keys (`functions.common.aggregates`): the event's shard, one of `SHARDS` by a hash of its id: its
counts key `counts:{topic}:{yyyy-mm-dd}:{shard}` (the shard's tallies and the ids of the events it has
counted) and its totals key `totals:…` (the tallies alone, what readers read), and, for an event that
moves gauges, its topic's gauges key `gauges:{topic}:{shard}`. Counting an event is one state
transaction: the counts key guarded by the ETag it was read with (or insert-only), the totals key as
the counts key's tallies, the gauges guarded by their own ETag. So a redelivered event, or one handled
by two replicas at once, is counted once: the second sees its id, or loses the guard and reads it; and
the totals and gauges move exactly when the counts do. The day is the event's own (`occurred_at`, UTC),
so a redelivery lands on the same keys. The shards spread replicas' writes over `SHARDS` keys; a counts
key keeps its day's ids, so it stays in the tens of kilobytes up to about ten thousand events a day and
topic, and only the aggregator reads it.

Cheap in the common case: a shard read back as the very bytes this process last wrote to its key (one
replica, or no other writer since) is not parsed and validated again but taken from `LAST_WRITTEN`
(the key's last written bytes and their frozen `Counts`); any other bytes are validated as stored.
The new shard is built without re-validating its tallies and ids (`counted`: they were validated or
built here).
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from bindings.optimistic import retry_conflicts
from bindings.ports import Write
from functions.common.aggregates import (
    SHARDS,
    ZERO,
    Counts,
    Level,
    Levels,
    Tally,
    Totals,
    added_levels,
    gauges_key,
    key,
    totals_key,
)

if TYPE_CHECKING:
    from datetime import date

    from bindings.ports import StateStore

_TRIES = 10  # ETag races lost in a row before the event is left for redelivery (ConflictError)
KEPT = 4 * SHARDS  # shard keys `LAST_WRITTEN` remembers (a day's of four topics) before it starts afresh
# Shard key -> (the bytes last written to it here, their `Counts`). Entries are immutable tuples of
# immutable values and replaced whole, so threads share it without a lock; a stale entry only misses.
LAST_WRITTEN: dict[str, tuple[bytes, Counts]] = {}


def shard(event_id: str) -> int:
    """The shard that counts `event_id` (on any day, and in the gauges)."""
    return zlib.crc32(event_id.encode()) % SHARDS


def shard_key(topic: str, day: date, event_id: str) -> str:
    """The counts key of the shard that counts `event_id` on `day`."""
    return key(topic, day, shard(event_id))


def counted(counts: Counts, event_id: str, dimensions: dict[str, int]) -> Counts:
    """`counts` with one more event (`event_id`) under each of `dimensions` (name -> amount).

    `counts` is valid (validated as read, or built here) and each tally's `plus` validates its sum, so
    the shard is assembled without validating its tallies and every id again.
    """
    tallies = dict(counts.tallies)
    for name, amount in dimensions.items():
        tallies[name] = tallies.get(name, ZERO).plus(Tally(count=1, amount=amount))
    return Counts.model_construct(tallies=tallies, seen=(*counts.seen, event_id))


def parsed(name: str, value: bytes | None) -> Counts:
    """The `Counts` stored under `name` as `value`; from `LAST_WRITTEN` when this process wrote them."""
    if not value:
        return Counts()
    last = LAST_WRITTEN.get(name)
    if last is not None and last[0] == value:
        return last[1]
    return Counts.model_validate_json(value)


def _remember(name: str, value: bytes, counts: Counts) -> None:
    if len(LAST_WRITTEN) >= KEPT and name not in LAST_WRITTEN:
        LAST_WRITTEN.clear()  # the day moved on: yesterday's keys are not read again
    LAST_WRITTEN[name] = (value, counts)


def moved(levels: Levels, moves: dict[str, Level]) -> Levels:
    """`levels` with each of `moves` (name -> the level it adds, any sign) added."""
    return Levels(levels=added_levels([levels.levels, moves]))


def count(
    store: StateStore,
    topic: str,
    day: date,
    event_id: str,
    dimensions: dict[str, int],
    *,
    moves: dict[str, Level] | None = None,
) -> bool:
    """Count `event_id` once under `dimensions` and move the gauges by `moves`; False if counted already."""
    number = shard(event_id)
    name = key(topic, day, number)
    gauges = gauges_key(topic, number) if moves else None

    def once() -> bool:
        item, *held = store.get_many([name, gauges]) if gauges else [store.get(name)]
        counts = parsed(name, item.value)
        if event_id in counts.seen:
            return False
        after = counted(counts, event_id, dimensions)
        value = after.model_dump_json().encode()
        totals = Totals.of(after.tallies).model_dump_json().encode()
        writes = [Write.replacing(item, value), Write(totals_key(topic, day, number), totals)]
        if held and moves:
            levels = Levels.model_validate_json(held[0].value) if held[0].value else Levels()
            writes.append(Write.replacing(held[0], moved(levels, moves).model_dump_json().encode()))
        store.transact(writes)
        _remember(name, value, after)  # only once written: a lost race leaves the last entry as it was
        return True

    return retry_conflicts(once, tries=_TRIES)
