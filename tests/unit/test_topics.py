"""Topic triggers: the event path of a topic event and the answer daprd gets, without gRPC."""

from __future__ import annotations

import json

import pytest

from bindings.app import Delivery, FunctionApp, TopicStatus
from bindings.errors import TransientError
from bindings.testing import MemoryBlobStore
from bindings.topics import Subscription
from tests.unit.test_app import Order, OrderV1, Seen, dead_letters, recording


def make_app(blob_store: MemoryBlobStore, *, max_attempts: int = 3) -> tuple[FunctionApp, Seen]:
    """An app subscribed to `bus/orders`, whose handler's behaviour the order id chooses."""
    app = FunctionApp("topic-app", dead_letters=blob_store, max_attempts=max_attempts)
    seen: Seen = []
    app.topic("bus", "orders", model=Order)(recording(seen))
    return app, seen


def order(order_id: str, **more: object) -> bytes:
    """A version 1 order event's data."""
    return json.dumps({"version": 1, "id": order_id, **more}).encode()


def test_a_valid_event_is_handled_as_its_model_and_answered_success() -> None:
    """The handler gets the typed payload, with the topic as the delivery's source and attempt 1."""
    app, seen = make_app(MemoryBlobStore())
    assert app.handle_topic("bus", "orders", "ev-1", order("o-1")) is TopicStatus.SUCCESS
    assert seen == [(OrderV1(id="o-1"), Delivery("bus/orders", 1, "ev-1"))]


def test_the_decorator_returns_the_function_and_lists_the_subscription() -> None:
    """Handlers stay callable; the subscription names the default dead-letter topic."""
    app = FunctionApp("topic-app")

    def handler(_order: OrderV1) -> None:
        return None

    assert app.topic("bus", "orders", model=OrderV1)(handler) is handler
    assert app.topic("bus", "refunds", model=OrderV1, dead_letter_topic="refunds-parked")(handler) is handler
    assert app.subscriptions == (
        Subscription("bus", "orders", "orders-dead"),
        Subscription("bus", "refunds", "refunds-parked"),
    )
    with pytest.raises(ValueError, match="bus/orders"):
        app.topic("bus", "orders", model=OrderV1)(handler)


@pytest.mark.parametrize(
    "data",
    [b"not json", order("o-1", version=7), b'{"id": 5}', b"[]"],
    ids=["json", "version", "type", "array"],
)
def test_an_invalid_event_is_dead_lettered_with_the_reason_and_dropped(data: bytes) -> None:
    """Our record keeps the reason and the bytes; DROP hands the event to the dead-letter topic."""
    blob_store = MemoryBlobStore()
    app, seen = make_app(blob_store)
    assert app.handle_topic("bus", "orders", "ev-bad", data) is TopicStatus.DROP
    assert seen == []
    [record] = dead_letters(blob_store)
    assert (record.app, record.source, record.kind, record.message_id) == (
        "topic-app", "bus/orders", "invalid", "ev-bad"
    )  # fmt: skip
    assert record.reason.startswith("ValidationError")
    assert record.body == data


def test_a_permanent_failure_is_dead_lettered_at_once() -> None:
    """A handler's PermanentError drops the event on its first attempt, with the reason."""
    blob_store = MemoryBlobStore()
    app, _ = make_app(blob_store)
    assert app.handle_topic("bus", "orders", "ev-p", order("permanent")) is TopicStatus.DROP
    [record] = dead_letters(blob_store)
    assert (record.kind, record.dequeue_count) == ("permanent", 1)
    assert "card is gone" in record.reason


def test_a_transient_failure_is_retried_then_dead_lettered_once_attempts_run_out() -> None:
    """RETRY while attempts remain (counted per event id), then DROP with an `exhausted` record."""
    blob_store = MemoryBlobStore()
    app, seen = make_app(blob_store, max_attempts=3)
    statuses = [app.handle_topic("bus", "orders", "ev-t", order("transient")) for _ in range(3)]
    assert statuses == [TopicStatus.RETRY, TopicStatus.RETRY, TopicStatus.DROP]
    assert [delivery.attempt for _, delivery in seen if delivery] == [1, 2, 3]
    [record] = dead_letters(blob_store)
    assert (record.kind, record.dequeue_count) == ("exhausted", 3)
    assert app.handle_topic("bus", "orders", "ev-t", order("transient")) is TopicStatus.RETRY  # counted anew


def test_attempts_are_counted_per_event_and_forgotten_once_it_is_done() -> None:
    """Another event starts at attempt 1; an event handled after a retry is counted from 1 again."""
    app, seen = make_app(MemoryBlobStore())
    assert app.handle_topic("bus", "orders", "ev-a", order("transient")) is TopicStatus.RETRY
    assert app.handle_topic("bus", "orders", "ev-b", order("o-b")) is TopicStatus.SUCCESS
    assert app.handle_topic("bus", "orders", "ev-a", order("o-a")) is TopicStatus.SUCCESS
    assert app.handle_topic("bus", "orders", "ev-a", order("o-a")) is TopicStatus.SUCCESS
    assert [(o.id, d.attempt) for o, d in seen if d] == [("transient", 1), ("o-b", 1), ("o-a", 2), ("o-a", 1)]


def test_a_dead_letter_that_cannot_be_written_leaves_the_event_for_redelivery() -> None:
    """When our record cannot be stored the event is not dropped: RETRY, so nothing is lost."""
    blob_store = MemoryBlobStore()
    blob_store.fail = TransientError("storage is down")
    app, _ = make_app(blob_store)
    assert app.handle_topic("bus", "orders", "ev-p", order("permanent")) is TopicStatus.RETRY
    blob_store.fail = None
    assert app.handle_topic("bus", "orders", "ev-p", order("permanent")) is TopicStatus.DROP
    assert len(dead_letters(blob_store)) == 1
