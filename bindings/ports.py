"""Typed output ports: what function logic may do to the outside world.

Logic modules depend on these protocols only; `bindings.dapr_ports` implements each one
over the Dapr sidecar, and `bindings.testing` in memory, for unit tests and simulations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pydantic import BaseModel


class BlobStore(Protocol):
    """A blob container reached through one output binding."""

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Create or overwrite blob `name`."""

    def get(self, name: str) -> bytes:
        """Return the bytes of blob `name`; `NotFoundError` (a `PermanentError`) when it does not exist."""


class Queue(Protocol):
    """A storage queue reached through one output binding."""

    def send(self, message: BaseModel) -> None:
        """Enqueue `message` as JSON."""


class Publisher(Protocol):
    """Topics of one pub/sub component, published to as CloudEvents."""

    def publish(self, topic: str, event: BaseModel, *, event_id: str) -> None:
        """Publish `event` as JSON on `topic`, as CloudEvent `event_id`: subscribers dedupe on the id."""


class StateItem(NamedTuple):
    """A value read from the state store, with the ETag to write it back guarded.

    A named tuple rather than a frozen dataclass: as immutable, and built in half the time, which
    counts where a tick reads thousands of index keys.
    """

    key: str
    value: bytes | None
    etag: str | None


class Write(NamedTuple):
    """One upsert of `StateStore.transact`: `value` under `key`, guarded or not.

    Guarded (`replacing`): with `etag`, only if the key is unchanged since it was read; without, only
    if the key does not exist. Unguarded: whatever is there, the last write wins.
    """

    key: str
    value: bytes
    etag: str | None = None
    guarded: bool = False

    @classmethod
    def replacing(cls, item: StateItem, value: bytes) -> Write:
        """`value` in place of `item` as read: insert-only when it did not exist, else guarded by its ETag."""
        return cls(item.key, value, item.etag, guarded=True)


class StateStore(Protocol):
    """A key-value store with ETag concurrency (first-write wins) and transactions."""

    def get(self, key: str) -> StateItem:
        """Read `key`; `value` and `etag` are None when it does not exist."""

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Read `keys` in one call: one item each, in the order of `keys`, as `get` would return it."""

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Write `key`. With `etag`, only if unchanged since read; `ConflictError` otherwise.

        With `ttl_seconds` the key expires that long after this write (reads no longer find it); without,
        it never expires, even if an earlier write gave it a TTL.
        """

    def create(self, key: str, value: bytes) -> None:
        """Write `key` only if it does not exist; `ConflictError` if it does."""

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete `key`, guarded by `etag` when given."""

    def transact(self, writes: Sequence[Write]) -> None:
        """Make every one of `writes` or none: `ConflictError` when a guarded one's guard fails."""


class Clock(Protocol):
    """The time as the function should see it: the wall clock in production, a virtual one in simulations."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
