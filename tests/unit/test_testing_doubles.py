"""The in-memory doubles the framework exports (`bindings.testing`) behave as the Dapr ports do."""

from __future__ import annotations

from typing import Literal

import pytest

from bindings.errors import ConflictError, NotFoundError, TransientError
from bindings.messages import Message
from bindings.ports import Publisher
from bindings.testing import ContendedStateStore, MemoryBlobStore, MemoryPublisher, MemoryStateStore


class Paid(Message):
    """A test event."""

    version: Literal[1] = 1
    payment: str


def test_get_many_reads_each_key_in_order_as_get_does() -> None:
    """One item per key, in the order asked, missing keys with no value and no ETag."""
    store = MemoryStateStore()
    store.create("b", b"2")
    store.create("a", b"1")
    items = store.get_many(["a", "missing", "b", "a"])
    assert [item.key for item in items] == ["a", "missing", "b", "a"]
    assert items == [store.get("a"), store.get("missing"), store.get("b"), store.get("a")]
    assert (items[1].value, items[1].etag) == (None, None)
    assert items[0].value == b"1"
    assert items[0].etag is not None
    assert store.get_many([]) == []


def test_the_state_store_guards_writes_with_etags() -> None:
    """Create is insert-only; a save with a stale ETag conflicts."""
    store = MemoryStateStore()
    store.create("k", b"1")
    with pytest.raises(ConflictError):
        store.create("k", b"2")
    etag = store.get("k").etag
    store.save("k", b"3", etag=etag)
    with pytest.raises(ConflictError):
        store.save("k", b"4", etag=etag)
    assert store.get("k").value == b"3"


def test_the_blob_store_returns_what_was_put_and_refuses_unknown_names() -> None:
    """A stored blob reads back; an unknown name is NotFoundError, as the Dapr store raises."""
    blobs = MemoryBlobStore()
    blobs.put("a/b.json", b"{}", content_type="application/json", metadata={"k": "v"})
    assert blobs.get("a/b.json") == b"{}"
    assert blobs.blobs["a/b.json"] == (b"{}", "application/json", {"k": "v"})
    with pytest.raises(NotFoundError):
        blobs.get("nope")


def test_the_publisher_keeps_each_event_with_its_topic_and_id_or_fails_as_told() -> None:
    """`published` lists (topic, event id, event) in order; `fail` raises instead of recording."""
    memory = MemoryPublisher()
    publisher: Publisher = memory
    publisher.publish("payments", Paid(payment="p1"), event_id="p1:paid")
    memory.fail = TransientError("broker down")
    with pytest.raises(TransientError):
        publisher.publish("payments", Paid(payment="p2"), event_id="p2:paid")
    assert memory.published == [("payments", "p1:paid", Paid(payment="p1"))]


def test_the_contended_store_finds_nothing_and_loses_every_write() -> None:
    """Reads are absent; save (guarded or not) and create raise ConflictError, a TransientError."""
    store = ContendedStateStore()
    assert store.get("k").value is None
    with pytest.raises(ConflictError) as saved:
        store.save("k", b"v")
    with pytest.raises(ConflictError):
        store.save("k", b"v", etag="1")
    with pytest.raises(ConflictError):
        store.create("k", b"v")
    assert isinstance(saved.value, TransientError)
