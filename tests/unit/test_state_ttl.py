"""The in-memory state store honours a save's TTL against the clock it is given, as daprd's stores do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bindings.clock import VirtualClock
from bindings.errors import ConflictError
from bindings.testing import MemoryStateStore

START = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_a_key_saved_with_a_ttl_is_gone_once_it_has_passed() -> None:
    """Read until 10 s after the save, absent from then on (get, get_many, keys); others stay."""
    clock = VirtualClock(START)
    store = MemoryStateStore(clock)
    store.save("tile:a", b"1", ttl_seconds=10)
    store.save("kept", b"2")
    clock.advance(timedelta(seconds=9.999))
    assert store.get("tile:a").value == b"1"
    clock.advance(timedelta(seconds=0.001))
    assert store.get("tile:a") == (("tile:a", None, None))
    assert [item.value for item in store.get_many(["tile:a", "kept"])] == [None, b"2"]
    assert store.keys() == ["kept"]


def test_a_save_renews_or_clears_the_ttl() -> None:
    """Saved again with a TTL: counted from the new save; saved again without: never expires."""
    clock = VirtualClock(START)
    store = MemoryStateStore(clock)
    store.save("a", b"1", ttl_seconds=10)
    clock.advance(timedelta(seconds=8))
    store.save("a", b"2", ttl_seconds=10)
    clock.advance(timedelta(seconds=8))
    assert store.get("a").value == b"2"
    store.save("a", b"3")
    clock.advance(timedelta(days=365))
    assert store.get("a").value == b"3"


def test_an_expired_key_is_absent_to_guarded_writes_and_creates() -> None:
    """Its old ETag no longer matches anything; `create` may make it again."""
    clock = VirtualClock(START)
    store = MemoryStateStore(clock)
    store.save("a", b"1", ttl_seconds=1)
    etag = store.get("a").etag
    assert etag is not None
    clock.advance(timedelta(seconds=1))
    with pytest.raises(ConflictError):
        store.save("a", b"2", etag=etag)
    store.create("a", b"3")
    assert store.get("a").value == b"3"


def test_without_a_clock_the_ttl_runs_on_the_wall_clock() -> None:
    """The constructor without arguments still works; a TTL far off leaves the key readable."""
    store = MemoryStateStore()
    store.save("a", b"1", ttl_seconds=3600)
    assert store.get("a").value == b"1"
