"""The day's counters in a state store: each event counted once, in the same write as its dedupe.

Keys: `counts:{topic}:{yyyy-mm-dd}:{shard}`, one of `SHARDS` by a hash of the event id, each a `Counts`
(its tallies and the ids of the events it has counted), written back with its ETag. Counting an event
and remembering its id are one write of one key, so a redelivered event, or one handled by two
replicas at once, is counted once: the second sees its id, or loses the ETag race and reads it. The
day is the event's own (`occurred_at`, UTC), so a redelivery lands on the same key. The shards spread
replicas' writes over `SHARDS` keys; a shard keeps its day's ids, so a key stays in the tens of
kilobytes up to about ten thousand events a day and topic.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from bindings.optimistic import retry_conflicts, write_back
from functions.aggregator.tallies import Counts, Tally, summed

if TYPE_CHECKING:
    from datetime import date

    from bindings.ports import StateStore

SHARDS = 16
_TRIES = 10  # ETag races lost in a row before the event is left for redelivery (ConflictError)


def shard_key(topic: str, day: date, event_id: str) -> str:
    """The key of the shard that counts `event_id` on `day`."""
    return f"counts:{topic}:{day.isoformat()}:{zlib.crc32(event_id.encode()) % SHARDS}"


def count(store: StateStore, topic: str, day: date, event_id: str, dimensions: dict[str, int]) -> bool:
    """Count `event_id` once under `dimensions`; False when it was counted already."""
    key = shard_key(topic, day, event_id)

    def once() -> bool:
        item = store.get(key)
        counts = Counts.model_validate_json(item.value) if item.value else Counts()
        if event_id in counts.seen:
            return False
        write_back(store, item, counts.counted(event_id, dimensions).model_dump_json().encode())
        return True

    return retry_conflicts(once, tries=_TRIES)


def totals(store: StateStore, topic: str, day: date) -> dict[str, Tally]:
    """Every dimension's tally for `topic` on `day` (all shards, one read)."""
    keys = [f"counts:{topic}:{day.isoformat()}:{shard}" for shard in range(SHARDS)]
    return summed([Counts.model_validate_json(item.value) for item in store.get_many(keys) if item.value])
