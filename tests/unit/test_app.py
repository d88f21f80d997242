"""FunctionApp's event path: typed payloads, filters, retries and dead letters, without gRPC."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Annotated, Literal

import pytest
from pydantic import Field

from bindings.app import CronTick, Delivery, FunctionApp, current_delivery
from bindings.errors import PermanentError, RedeliverError, TransientError
from bindings.events import BlobEvent
from bindings.messages import DeadLetter, Message
from bindings.testing import MemoryBlobStore


class OrderV1(Message):
    """Version 1 of a test message."""

    version: Literal[1] = 1
    id: str


class OrderV2(Message):
    """Version 2 adds a field."""

    version: Literal[2] = 2
    id: str
    note: str


Order = Annotated[OrderV1 | OrderV2, Field(discriminator="version")]


Seen = list[tuple[OrderV1 | OrderV2, Delivery | None]]


def recording(seen: Seen) -> Callable[[OrderV1 | OrderV2], None]:
    """A handler that records each order with its delivery, then fails as the order's id asks."""

    def on_order(order: OrderV1 | OrderV2) -> None:
        seen.append((order, current_delivery()))
        if order.id == "permanent":
            raise PermanentError("card is gone")
        if order.id == "transient":
            raise TransientError("processor timed out")
        if order.id == "bug":
            raise KeyError("unexpected")

    return on_order


def make_app(blob_store: MemoryBlobStore, *, max_attempts: int = 5) -> tuple[FunctionApp, Seen]:
    """An app with a queue route whose behaviour the message id chooses."""
    app = FunctionApp("test-app", dead_letters=blob_store, max_attempts=max_attempts)
    seen: Seen = []
    app.queue("orders", model=Order)(recording(seen))
    return app, seen


def dead_letters(blob_store: MemoryBlobStore) -> list[DeadLetter]:
    """The dead-letter records written so far."""
    return [DeadLetter.model_validate_json(data) for data, _, _ in blob_store.blobs.values()]


def body(**fields: object) -> bytes:
    """A JSON body."""
    return json.dumps(fields).encode()


def test_decorators_return_the_function_unchanged(blob_store: MemoryBlobStore) -> None:
    """Tests can call a registered handler directly."""
    app = FunctionApp("t", dead_letters=blob_store)

    def handler(tick: CronTick) -> None:
        del tick

    assert app.cron("tick")(handler) is handler
    assert app.bindings == ("tick",)


def test_a_binding_cannot_have_two_handlers(blob_store: MemoryBlobStore) -> None:
    """Registering the same binding twice is a clear error at import time."""
    app = FunctionApp("t", dead_letters=blob_store)
    app.cron("tick")(lambda _tick: None)
    with pytest.raises(ValueError, match="already has a handler"):
        app.cron("tick")


@pytest.mark.parametrize("encode", [False, True])
def test_each_version_reaches_the_handler_as_its_model(blob_store: MemoryBlobStore, *, encode: bool) -> None:
    """Version 1 and 2 parse to their own frozen models, plain or base64, with the delivery attached."""
    app, seen = make_app(blob_store)
    for raw in (body(version=1, id="a"), body(version=2, id="b", note="n")):
        app.handle(
            "orders", base64.b64encode(raw) if encode else raw, {"dequeueCount": "2", "messageID": "m"}
        )
    assert [type(order) for order, _ in seen] == [OrderV1, OrderV2]
    delivery = seen[0][1]
    assert delivery is not None
    assert (delivery.binding, delivery.attempt, delivery.message_id) == ("orders", 2, "m")
    assert not blob_store.blobs


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"garbage", "not JSON"),
        (body(version=3, id="x"), "version"),
        (body(version=1), "id"),
        (body(version=1, id="x", extra=1), "extra"),
    ],
)
def test_invalid_payloads_are_dead_lettered_at_once_with_the_reason(
    blob_store: MemoryBlobStore, raw: bytes, reason: str
) -> None:
    """Bad JSON, an unknown version, a missing or an unknown field: dead-lettered on attempt 1, body kept."""
    app, seen = make_app(blob_store)
    app.handle("orders", raw, {"dequeueCount": "1", "messageID": "m-1"})
    assert not seen
    [record] = dead_letters(blob_store)
    assert (record.kind, record.source, record.app, record.dequeue_count, record.message_id) == (
        "invalid",
        "orders",
        "test-app",
        1,
        "m-1",
    )
    assert reason in record.reason
    assert record.body == raw


def test_permanent_errors_are_dead_lettered_on_the_first_attempt(blob_store: MemoryBlobStore) -> None:
    """A handler's PermanentError is not retried."""
    app, _ = make_app(blob_store)
    app.handle("orders", body(version=1, id="permanent"), {"dequeueCount": "1"})
    [record] = dead_letters(blob_store)
    assert record.kind == "permanent"
    assert "card is gone" in record.reason


@pytest.mark.parametrize("order_id", ["transient", "bug"])
def test_transient_failures_are_redelivered_until_the_limit_then_dead_lettered(
    blob_store: MemoryBlobStore, order_id: str
) -> None:
    """TransientError and unexpected exceptions retry N-1 times; attempt N dead-letters as exhausted."""
    app, seen = make_app(blob_store, max_attempts=3)
    for attempt in (1, 2):
        with pytest.raises(RedeliverError):
            app.handle("orders", body(version=1, id=order_id), {"dequeueCount": str(attempt)})
        assert not blob_store.blobs
    app.handle("orders", body(version=1, id=order_id), {"dequeueCount": "3"})
    [record] = dead_letters(blob_store)
    assert (record.kind, record.dequeue_count) == ("exhausted", 3)
    assert len(seen) == 3


def test_a_failed_dead_letter_write_leaves_the_message_queued(blob_store: MemoryBlobStore) -> None:
    """If the dead-letter store is down, the message is redelivered rather than lost."""
    app, _ = make_app(blob_store)
    blob_store.fail = TransientError("blob store down")
    with pytest.raises(RedeliverError, match="dead-lettering failed"):
        app.handle("orders", b"garbage", {"dequeueCount": "1"})


def test_cron_failures_are_counted_and_never_raised(blob_store: MemoryBlobStore) -> None:
    """A failing tick is logged and counted; daprd would drop an error anyway."""
    app = FunctionApp("t", dead_letters=blob_store)
    ticks: list[CronTick] = []

    @app.cron("tick")
    def on_tick(tick: CronTick) -> None:
        ticks.append(tick)
        raise TransientError("state store down")

    app.handle("tick", b"", {})
    app.handle("tick", b"", {})
    assert app.cron_failures["tick"] == 2
    assert [tick.binding for tick in ticks] == ["tick", "tick"]
    assert not blob_store.blobs


def blob_event(container: str, blob: str, event_type: str = "Microsoft.Storage.BlobCreated") -> bytes:
    """A minimal Event Grid storage event, base64-encoded as Event Grid writes it."""
    raw = {
        "topic": "t",
        "subject": f"/blobServices/default/containers/{container}/blobs/{blob}",
        "eventType": event_type,
        "eventTime": "2026-11-25T10:00:00Z",
        "id": f"{container}/{blob}",
        "data": {"api": "PutBlob"},
    }
    return base64.b64encode(json.dumps(raw).encode())


def test_blob_created_takes_matching_prefixes_and_ignores_the_rest(blob_store: MemoryBlobStore) -> None:
    """Only BlobCreated events under the prefix reach the handler; others are acknowledged quietly."""
    app = FunctionApp("t", dead_letters=blob_store)
    events: list[BlobEvent] = []
    app.blob_created("blob-events", prefix="documents/orders/")(events.append)
    app.handle("blob-events", blob_event("documents", "orders/o-1.json"), {})
    app.handle("blob-events", blob_event("documents", "receipts/r-1.pdf"), {})
    app.handle("blob-events", blob_event("documents", "orders/o-2.json", "Microsoft.Storage.BlobDeleted"), {})
    assert [event.blob_name for event in events] == ["orders/o-1.json"]
    assert not blob_store.blobs
