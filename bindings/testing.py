"""In-memory implementations of the framework's ports, for users' unit tests and simulations (no sidecar).

`functions.common.testing` holds those of the ports shared between functions.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from bindings.clock import SystemClock
from bindings.errors import ConflictError, NotFoundError
from bindings.ports import StateItem

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pydantic import BaseModel

    from bindings.ports import Clock, Write


class MemoryStateStore:
    """A thread-safe `StateStore` with the sidecar's ETag semantics: insert-only create, guarded saves.

    A key saved with `ttl_seconds` expires that long after, by `clock` (the system's by default): from
    then on it is absent, as the sqlite and PostgreSQL stores hide an expired row on read at once.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._items: dict[str, tuple[bytes, str]] = {}
        self._expires: dict[str, datetime] = {}  # only keys saved with a TTL
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    def get(self, key: str) -> StateItem:
        """Read `key`."""
        with self._lock:
            self._expire()
            value, etag = self._items.get(key, (None, None))
        return StateItem(key=key, value=value, etag=etag)

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Read `keys` at one moment, in their order."""
        missing, items = (None, None), self._items
        with self._lock:
            self._expire()
            return [StateItem(key, *items.get(key, missing)) for key in keys]

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write, guarded by `etag` when given; expiring `ttl_seconds` from now when given."""
        with self._lock:
            self._expire()
            if etag is not None and self._items.get(key, (b"", None))[1] != etag:
                raise ConflictError(f"etag mismatch on {key}")
            self._items[key] = (value, str(next(self._versions)))
            if ttl_seconds is None:
                self._expires.pop(key, None)
            else:
                self._expires[key] = self._clock.now() + timedelta(seconds=ttl_seconds)

    def create(self, key: str, value: bytes) -> None:
        """Write only if absent."""
        with self._lock:
            self._expire()
            if key in self._items:
                raise ConflictError(f"{key} exists")
            self._items[key] = (value, str(next(self._versions)))

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete, guarded by `etag` when given."""
        with self._lock:
            self._expire()
            if etag is not None and self._items.get(key, (b"", None))[1] != etag:
                raise ConflictError(f"etag mismatch on {key}")
            self._items.pop(key, None)
            self._expires.pop(key, None)

    def transact(self, writes: Sequence[Write]) -> None:
        """Check every guard, then make every write (none when a guard fails); the writes have no TTL."""
        with self._lock:
            self._expire()
            for write in writes:
                if write.guarded and self._items.get(write.key, (None, None))[1] != write.etag:
                    raise ConflictError(f"{write.key}: etag mismatch, or exists")
            for write in writes:
                self._items[write.key] = (write.value, str(next(self._versions)))
                self._expires.pop(write.key, None)

    def keys(self, prefix: str = "") -> list[str]:
        """The keys stored (and not expired), for assertions."""
        with self._lock:
            self._expire()
            return sorted(key for key in self._items if key.startswith(prefix))

    def _expire(self) -> None:
        """Drop the keys whose TTL has run out (the lock held); nothing to do when none has one."""
        if not self._expires:
            return
        now = self._clock.now()
        for key in [key for key, at in self._expires.items() if at <= now]:
            del self._expires[key]
            self._items.pop(key, None)


class ContendedStateStore(MemoryStateStore):
    """A `StateStore` where another writer always wins: reads find nothing, every write is a lost race.

    For testing what code does past its retry budget under contention (`ConflictError` on each save
    and create).
    """

    def get(self, key: str) -> StateItem:
        """Always absent."""
        return StateItem(key, None, None)

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Always lost."""
        del value, etag, ttl_seconds
        raise ConflictError(f"etag mismatch on {key}")

    def create(self, key: str, value: bytes) -> None:
        """Always lost."""
        del value
        raise ConflictError(f"{key} exists")

    def transact(self, writes: Sequence[Write]) -> None:
        """Always lost when a write is guarded."""
        if any(write.guarded for write in writes):
            raise ConflictError(f"etag mismatch on {writes[0].key}")
        super().transact(writes)


class MemoryQueue:
    """A `Queue` in memory that keeps what was sent; `fail` makes sends raise (for tests)."""

    def __init__(self, binding: str) -> None:
        self.binding = binding
        self.sent: list[BaseModel] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def send(self, message: BaseModel) -> None:
        """Record or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.sent.append(message)


class MemoryPublisher:
    """A `Publisher` in memory: `published` keeps (topic, event id, event); `fail` makes publishes raise."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, BaseModel]] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def publish(self, topic: str, event: BaseModel, *, event_id: str) -> None:
        """Record or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.published.append((topic, event_id, event))


class MemoryBlobStore:
    """A `BlobStore` in memory: `blobs` maps names to (data, content type, metadata); `fail` fails puts."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.fail: Exception | None = None

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Store or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        self.blobs[name] = (data, content_type, dict(metadata or {}))

    def get(self, name: str) -> bytes:
        """Return a stored blob; `NotFoundError` when there is none, as the Dapr store raises."""
        if name not in self.blobs:
            raise NotFoundError(f"blob {name!r} does not exist")
        return self.blobs[name][0]
