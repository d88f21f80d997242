"""Bulk topic delivery: a batch's entries each run the single-event path and get their own answer."""

from __future__ import annotations

import logging

import pytest

from bindings.app import BulkDelivery, FunctionApp, Subscription, TopicEntry, TopicStatus
from bindings.testing import MemoryBlobStore
from bindings.topics import Topics
from tests.unit.test_app import Order, OrderV1, Seen, dead_letters, recording
from tests.unit.test_topics import order

BULK = BulkDelivery(max_messages=4, max_await_ms=250)


def make_app(blob_store: MemoryBlobStore, *, max_attempts: int = 3) -> tuple[FunctionApp, Seen]:
    """An app subscribed to `bus/orders` in batches, whose handler's behaviour the order id chooses."""
    app = FunctionApp("topic-app", dead_letters=blob_store, max_attempts=max_attempts)
    seen: Seen = []
    app.topic("bus", "orders", model=Order, bulk=BULK)(recording(seen))
    return app, seen


MIXED = [
    TopicEntry("entry-ok", "ev-ok", order("o-1")),
    TopicEntry("entry-invalid", "ev-invalid", b"not json"),
    TopicEntry("entry-transient", "ev-transient", order("transient")),
    TopicEntry("entry-permanent", "ev-permanent", order("permanent")),
]


def test_the_decorator_returns_the_function_and_lists_the_bulk_subscription() -> None:
    """Handlers stay callable; the subscription carries its bulk delivery, the others none."""
    app = FunctionApp("topic-app")

    def handler(_order: OrderV1) -> None:
        return None

    assert app.topic("bus", "orders", model=OrderV1, bulk=BULK)(handler) is handler
    assert app.topic("bus", "refunds", model=OrderV1)(handler) is handler
    assert app.subscriptions == (
        Subscription("bus", "orders", "orders-dead", BULK),
        Subscription("bus", "refunds", "refunds-dead"),
    )
    assert app.subscriptions[1].bulk is None


def test_bulk_delivery_defaults_and_refuses_bounds_daprd_would_replace() -> None:
    """100 events or 1 s by default; 0 (daprd's "use my default") and negative bounds are refused."""
    assert (BulkDelivery().max_messages, BulkDelivery().max_await_ms) == (100, 1000)
    for bad in ({"max_messages": 0}, {"max_await_ms": 0}, {"max_messages": -1}, {"max_await_ms": 2**31}):
        with pytest.raises(ValueError, match="BulkDelivery"):
            BulkDelivery(**bad)


def test_a_mixed_batch_gets_a_status_per_entry_and_the_dead_letters_singles_get() -> None:
    """Valid, invalid, transient, permanent: SUCCESS, DROP, RETRY, DROP, and the records of singles."""
    batched_store, single_store = MemoryBlobStore(), MemoryBlobStore()
    batched, seen = make_app(batched_store)
    single, _ = make_app(single_store)
    statuses = batched.handle_topic_batch("bus", "orders", MIXED)
    assert statuses == [TopicStatus.SUCCESS, TopicStatus.DROP, TopicStatus.RETRY, TopicStatus.DROP]
    assert statuses == [single.handle_topic("bus", "orders", e.event_id, e.data) for e in MIXED]
    assert [(o.id, d.binding, d.attempt, d.message_id) for o, d in seen if d] == [
        ("o-1", "bus/orders", 1, "ev-ok"),
        ("transient", "bus/orders", 1, "ev-transient"),
        ("permanent", "bus/orders", 1, "ev-permanent"),
    ]

    def kept(store: MemoryBlobStore) -> list[tuple[object, ...]]:
        return sorted(
            (r.id, r.app, r.source, r.kind, r.reason, r.dequeue_count, r.message_id, r.body)
            for r in dead_letters(store)
        )

    assert kept(batched_store) == kept(single_store)
    assert sorted((r.message_id, r.kind, r.body) for r in dead_letters(batched_store)) == [
        ("ev-invalid", "invalid", b"not json"),
        ("ev-permanent", "permanent", order("permanent")),
    ]


def test_attempts_are_counted_per_entry_across_redeliveries() -> None:
    """Each event keeps its own count from batch to batch (by event id), then is dead-lettered once."""
    blob_store = MemoryBlobStore()
    app, seen = make_app(blob_store, max_attempts=3)
    first = [TopicEntry("a1", "ev-t", order("transient")), TopicEntry("a2", "ev-u", order("transient"))]
    assert app.handle_topic_batch("bus", "orders", first) == [TopicStatus.RETRY, TopicStatus.RETRY]
    # daprd hands back only the entries answered RETRY; a new event joins the second batch.
    second = [*first, TopicEntry("b1", "ev-new", order("transient"))]
    assert app.handle_topic_batch("bus", "orders", second) == [TopicStatus.RETRY] * 3
    third = [TopicEntry("c1", "ev-t", order("transient")), TopicEntry("c2", "ev-u", order("o-u"))]
    assert app.handle_topic_batch("bus", "orders", third) == [TopicStatus.DROP, TopicStatus.SUCCESS]
    assert [(d.message_id, d.attempt) for _, d in seen if d] == [
        ("ev-t", 1), ("ev-u", 1), ("ev-t", 2), ("ev-u", 2), ("ev-new", 1), ("ev-t", 3), ("ev-u", 3)
    ]  # fmt: skip
    [record] = dead_letters(blob_store)
    assert (record.kind, record.dequeue_count, record.message_id) == ("exhausted", 3, "ev-t")


def test_an_entry_that_raises_outside_its_handler_is_retried_and_the_rest_answered(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault of the event path itself answers that entry RETRY, logged; the batch still gets its line."""
    app, seen = make_app(MemoryBlobStore())
    handle = Topics.handle

    def faulty(self: Topics, pubsub: str, topic: str, event_id: str, data: bytes) -> TopicStatus:
        if event_id == "ev-broken":
            raise RuntimeError("the event path broke")
        return handle(self, pubsub, topic, event_id, data)

    monkeypatch.setattr(Topics, "handle", faulty)
    entries = [
        TopicEntry("e1", "ev-broken", order("o-1")),
        TopicEntry("e2", "ev-fine", order("o-2")),
        TopicEntry("e3", "ev-dropped", b"[]"),
    ]
    with caplog.at_level(logging.INFO, logger="bindings.app"):
        statuses = app.handle_topic_batch("bus", "orders", entries)
    assert statuses == [TopicStatus.RETRY, TopicStatus.SUCCESS, TopicStatus.DROP]
    assert [o.id for o, _ in seen] == ["o-2"]
    [failed] = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert failed.getMessage() == "event of a batch failed outside its handler: answered RETRY"
    [line] = [r for r in caplog.records if r.getMessage().startswith("batch of")]
    assert line.getMessage() == "batch of 3: 1 success, 1 retry, 1 drop"
    assert (line.batch, line.success, line.retry, line.drop) == (3, 1, 1, 1)  # type: ignore[attr-defined]
