"""The archive's state: each event kept once under its topic and day, and the days its blob lags behind.

Keys: `events:{topic}:{yyyy-mm-dd}:{shard}`, one of `SHARDS` by a CRC-32 of the event id, each a `Shard`
(event id -> the event's JSON line), written back with its ETag: keeping an event and remembering its id
are one write of one key, so a redelivered event, or one two replicas handle at once, is kept once (the
second sees its id, or loses the ETag race and reads it). The day is the event's own (`occurred_at`,
UTC), so a redelivery lands on the same key. `dirty:{topic}` lists the days whose blob may lag behind
their shards: an event marks its day after its shard is written (a kept one too, in case the first
handling stopped in between), and the tick (`render`) reads the dirty days of every topic in one call.
The blob binding can neither append nor write conditionally: that is why the state holds the events.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from bindings.optimistic import retry_conflicts, write_back

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from bindings.ports import StateItem, StateStore

SHARDS = 16
_TRIES = 10  # ETag races lost in a row before the event is left for redelivery (ConflictError)


class Event(Protocol):
    """What the archive needs of a domain event: its deterministic id, its moment, its JSON."""

    @property
    def event_id(self) -> str:
        """The same effect always has the same id."""

    @property
    def occurred_at(self) -> datetime:
        """When the effect happened (aware): the day it is archived under."""

    def model_dump_json(self) -> str:
        """The event as one line of JSON (no newline), the same each time."""


class Shard(BaseModel):
    """One shard of a day's events of a topic: each event's JSON line by its id (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    lines: dict[str, str] = {}

    def kept(self, event_id: str, line: str) -> Shard:
        """This shard with one more event."""
        return Shard(lines={**self.lines, event_id: line})


class Dirty(BaseModel):
    """The days of a topic whose blob may lag behind the events kept (version 1), in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    days: tuple[date, ...] = ()


def day_of(event: Event) -> date:
    """The UTC day an event is archived under."""
    return event.occurred_at.astimezone(UTC).date()


def shard_keys(topic: str, day: date) -> list[str]:
    """The keys of every shard of `topic` on `day`."""
    return [f"events:{topic}:{day.isoformat()}:{shard}" for shard in range(SHARDS)]


def shard_key(topic: str, day: date, event_id: str) -> str:
    """The key of the shard that keeps `event_id` on `day`."""
    return shard_keys(topic, day)[zlib.crc32(event_id.encode()) % SHARDS]


def dirty_key(topic: str) -> str:
    """The key listing the days of `topic` to render."""
    return f"dirty:{topic}"


def keep(store: StateStore, topic: str, event: Event) -> bool:
    """Keep `event` once and mark its day dirty; False when it was kept already."""
    day = day_of(event)
    key = shard_key(topic, day, event.event_id)

    def once() -> bool:
        item = store.get(key)
        shard = Shard.model_validate_json(item.value) if item.value else Shard()
        if event.event_id in shard.lines:
            return False
        write_back(
            store, item, shard.kept(event.event_id, event.model_dump_json()).model_dump_json().encode()
        )
        return True

    new = retry_conflicts(once, tries=_TRIES)
    mark(store, topic, day)
    return new


def lines(shards: Iterable[StateItem]) -> dict[str, str]:
    """Every event line of a day's shards, by event id."""
    found: dict[str, str] = {}
    for item in shards:
        if item.value:
            found.update(Shard.model_validate_json(item.value).lines)
    return found


def mark(store: StateStore, topic: str, day: date) -> None:
    """List `day` among the dirty days of `topic` (a read only, when it is listed already)."""
    _change(store, topic, day, dirty=True)


def unmark(store: StateStore, topic: str, day: date) -> None:
    """Take `day` off the dirty days of `topic`."""
    _change(store, topic, day, dirty=False)


def dirty_days(store: StateStore, topics: Iterable[str]) -> list[tuple[str, date]]:
    """The dirty (topic, day) pairs of `topics`, read in one call."""
    names = list(topics)
    items = store.get_many([dirty_key(topic) for topic in names])
    return [
        (topic, day)
        for topic, item in zip(names, items, strict=True)
        if item.value
        for day in Dirty.model_validate_json(item.value).days
    ]


def _change(store: StateStore, topic: str, day: date, *, dirty: bool) -> None:
    key = dirty_key(topic)

    def once() -> None:
        item = store.get(key)
        days = set(Dirty.model_validate_json(item.value).days) if item.value else set()
        if (day in days) == dirty:
            return
        days = days | {day} if dirty else days - {day}
        write_back(store, item, Dirty(days=tuple(sorted(days))).model_dump_json().encode())

    retry_conflicts(once, tries=_TRIES)
