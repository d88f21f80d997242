"""Optimistic writes: write_back inserts or guards by ETag; retry_conflicts retries lost races."""

from __future__ import annotations

import pytest

from bindings.errors import ConflictError
from bindings.optimistic import retry_conflicts, write_back
from bindings.testing import MemoryStateStore


def test_write_back_inserts_new_keys_and_guards_existing_ones() -> None:
    """A key read as absent is created only if still absent; one read with an ETag saves only if unchanged."""
    state = MemoryStateStore()
    absent = state.get("k")
    write_back(state, absent, b"1")
    with pytest.raises(ConflictError):
        write_back(state, absent, b"2")  # someone else created it meanwhile
    read = state.get("k")
    state.save("k", b"3")
    with pytest.raises(ConflictError):
        write_back(state, read, b"4")
    assert state.get("k").value == b"3"


def test_retry_conflicts_retries_until_it_wins_and_raises_the_last_loss() -> None:
    """Two lost races then a win return the win; losing every try lets the last ConflictError out."""
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConflictError("lost")
        return "won"

    assert retry_conflicts(flaky, tries=5) == "won"
    assert len(calls) == 3

    def always() -> None:
        calls.append(1)
        raise ConflictError("lost again")

    calls.clear()
    with pytest.raises(ConflictError, match="lost again"):
        retry_conflicts(always, tries=4)
    assert len(calls) == 4
