"""ETag contention that outlasts `retry_conflicts`: redelivered, then handled, never dead-lettered."""

from __future__ import annotations

from typing import Literal

import pytest

from bindings.app import FunctionApp, current_delivery
from bindings.errors import RedeliverError
from bindings.messages import Message
from bindings.optimistic import retry_conflicts, write_back
from bindings.testing import MemoryBlobStore, MemoryStateStore

_TRIES = 3
_CONTENDED_DELIVERIES = 2


class Bump(Message):
    """Add one to a shared counter."""

    version: Literal[1] = 1
    id: str


def contended_app(state: MemoryStateStore, blob_store: MemoryBlobStore) -> tuple[FunctionApp, list[int]]:
    """An app whose handler does a read-modify-write that a rival wins on its first deliveries."""
    app = FunctionApp("contended", dead_letters=blob_store, max_attempts=5)
    tries: list[int] = []

    @app.queue("bumps", model=Bump)
    def on_bump(bump: Bump) -> None:
        delivery = current_delivery()
        assert delivery is not None

        def bump_once() -> None:
            item = state.get(bump.id)
            tries.append(delivery.attempt)
            if delivery.attempt <= _CONTENDED_DELIVERIES:  # a rival bumps between our read and write
                state.save(bump.id, str(int(item.value or b"0") + 1).encode(), etag=item.etag)
            write_back(state, item, str(int(item.value or b"0") + 1).encode())

        retry_conflicts(bump_once, tries=_TRIES)

    return app, tries


def deliver_until_acknowledged(app: FunctionApp, binding: str, body: bytes, limit: int = 10) -> list[str]:
    """Play the storage queue: redeliver with a growing dequeueCount until the app acknowledges."""
    outcomes = []
    for attempt in range(1, limit + 1):
        try:
            app.handle(binding, body, {"dequeueCount": str(attempt), "messageID": "m-1"})
        except RedeliverError:
            outcomes.append("redelivered")
            continue
        outcomes.append("acknowledged")
        return outcomes
    pytest.fail(f"still not acknowledged after {limit} deliveries: {outcomes}")


def test_contention_past_the_retry_budget_is_redelivered_then_handled_never_dead_lettered(
    blob_store: MemoryBlobStore,
) -> None:
    """Every try of deliveries 1 and 2 loses its ETag race; delivery 3 wins; no dead letter is written."""
    state = MemoryStateStore()
    state.create("counter", b"41")
    app, tries = contended_app(state, blob_store)
    outcomes = deliver_until_acknowledged(app, "bumps", Bump(id="counter").model_dump_json().encode())
    assert outcomes == ["redelivered", "redelivered", "acknowledged"]
    assert tries == [1] * _TRIES + [2] * _TRIES + [3]
    assert blob_store.blobs == {}
    assert state.get("counter").value == str(41 + 2 * _TRIES + 1).encode()  # six rival bumps, then ours
