"""Optimistic read-modify-write over a `StateStore`: write back what was read, retry a lost race."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from bindings.errors import ConflictError

if TYPE_CHECKING:
    from collections.abc import Callable

    from bindings.ports import StateItem, StateStore

T = TypeVar("T")


def write_back(state: StateStore, item: StateItem, value: bytes) -> None:
    """Replace `item` with `value`: insert-only when it did not exist, else guarded by its ETag."""
    if item.etag is None:
        state.create(item.key, value)
    else:
        state.save(item.key, value, etag=item.etag)


def retry_conflicts(attempt: Callable[[], T], *, tries: int) -> T:
    """Run `attempt` (which reads, then writes back) until it wins; the last `ConflictError` escapes."""
    for _ in range(tries - 1):
        try:
            return attempt()
        except ConflictError:
            continue
    return attempt()
