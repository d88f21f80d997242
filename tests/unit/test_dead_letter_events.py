"""The framework announces each dead letter it writes (`DeadLetterEvent` on `dead-letters`), once a record."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bindings.app import FunctionApp, TopicStatus
from bindings.errors import RedeliverError, TransientError
from bindings.messages import DEAD_LETTER_TOPIC, REASON_LIMIT, DeadLetterEvent, dead_letter_id
from bindings.testing import MemoryBlobStore, MemoryPublisher
from tests.unit.test_app import Order, Seen, body, dead_letters, recording


def make_app(blob_store: MemoryBlobStore, events: MemoryPublisher | None) -> tuple[FunctionApp, Seen]:
    """An app with a queue route and a topic route, announcing its dead letters on `events`."""
    app = FunctionApp("test-app", dead_letters=blob_store, events=events, max_attempts=2)
    seen: Seen = []
    app.queue("orders", model=Order)(recording(seen))
    app.topic("bus", "orders", model=Order)(recording(seen))
    return app, seen


def announced(events: MemoryPublisher) -> list[DeadLetterEvent]:
    """The dead-letter events published so far, each checked to be on its topic under its own id."""
    found = []
    for topic, event_id, event in events.published:
        assert topic == DEAD_LETTER_TOPIC
        assert isinstance(event, DeadLetterEvent)
        assert event_id == event.event_id
        found.append(event)
    return found


def test_a_dead_letter_is_announced_with_its_record() -> None:
    """The event names the record's id, app, source, kind, reason, attempt, message id and blob."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)
    app.handle("orders", body(version=1, id="permanent"), {"dequeueCount": "1", "messageID": "m-1"})
    [record] = dead_letters(blob_store)
    [event] = announced(events)
    assert event == DeadLetterEvent.of(record)
    assert (event.event_id, event.app, event.source, event.kind) == (
        record.id,
        "test-app",
        "orders",
        "permanent",
    )
    assert (event.reason, event.dequeue_count, event.message_id) == (record.reason, 1, "m-1")
    assert event.blob == record.blob_name()
    assert event.blob in blob_store.blobs
    assert event.occurred_at == record.dead_lettered_at


def test_a_message_dead_lettered_again_keeps_its_record_and_event_id() -> None:
    """The same message (same id) dead-lettered twice is one record name and one event id."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)
    for attempt in ("1", "2"):
        app.handle("orders", b"not json", {"dequeueCount": attempt, "messageID": "m-2"})
    assert len(blob_store.blobs) == 1
    first, second = announced(events)
    assert first.event_id == second.event_id == dead_letter_id("test-app", "orders", "m-2")


def test_records_of_other_messages_apps_or_sources_differ() -> None:
    """The id depends on the app, the source and the message id; without a message id it is random."""
    ids = {
        dead_letter_id("a", "orders", "m"), dead_letter_id("b", "orders", "m"),
        dead_letter_id("a", "refunds", "m"), dead_letter_id("a", "orders", "n"),
        dead_letter_id("a", "orders", None), dead_letter_id("a", "orders", None),
    }  # fmt: skip
    assert len(ids) == 6
    assert all(len(found) == 32 and int(found, 16) >= 0 for found in ids)


def test_an_event_that_cannot_be_published_leaves_the_message_for_redelivery() -> None:
    """The record is written, the message stays; its redelivery writes the same record and announces it."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)
    events.fail = TransientError("broker down")
    with pytest.raises(RedeliverError, match="broker down"):
        app.handle("orders", b"{}", {"dequeueCount": "1", "messageID": "m-3"})
    assert len(blob_store.blobs) == 1
    events.fail = None
    app.handle("orders", b"{}", {"dequeueCount": "2", "messageID": "m-3"})
    assert len(blob_store.blobs) == 1
    [event] = announced(events)
    assert event.blob in blob_store.blobs


def test_a_record_that_cannot_be_written_is_not_announced() -> None:
    """No event for a dead letter that was not stored: the message stays queued."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)
    blob_store.fail = TransientError("storage down")
    with pytest.raises(RedeliverError):
        app.handle("orders", b"{}", {"dequeueCount": "1", "messageID": "m-4"})
    assert events.published == []


def test_a_topic_event_dead_lettered_is_announced_and_dropped_or_retried_if_not() -> None:
    """A topic's dead letter is announced under `pubsub/topic`; unannounced, daprd is told to retry."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)
    events.fail = TransientError("broker down")
    assert app.handle_topic("bus", "orders", "ce-1", b"[]") is TopicStatus.RETRY
    events.fail = None
    assert app.handle_topic("bus", "orders", "ce-1", b"[]") is TopicStatus.DROP
    [event] = announced(events)
    assert (event.source, event.message_id, event.kind) == ("bus/orders", "ce-1", "invalid")
    assert len(blob_store.blobs) == 1


def test_without_a_publisher_nothing_is_announced() -> None:
    """An app given no publisher dead-letters as before."""
    blob_store = MemoryBlobStore()
    app, _ = make_app(blob_store, None)
    app.handle("orders", b"{}", {"dequeueCount": "1"})
    assert len(dead_letters(blob_store)) == 1


@given(
    reason=st.text(max_size=REASON_LIMIT * 3),
    message_id=st.none() | st.text(max_size=600),
    attempt=st.integers(min_value=5, max_value=10**6),
)
def test_every_record_has_a_valid_event(reason: str, message_id: str | None, attempt: int) -> None:
    """Any reason or message id (hostile, long) gives a valid event: cut to its limit, never refused."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app = FunctionApp("test-app", dead_letters=blob_store, events=events, max_attempts=5)

    @app.queue("orders", model=Order)
    def fail(_order: object) -> None:
        raise TransientError(reason)

    metadata = {"dequeueCount": str(attempt)} | ({} if message_id is None else {"messageID": message_id})
    app.handle("orders", body(version=1, id="x"), metadata)
    [record] = dead_letters(blob_store)
    [event] = announced(events)
    assert record.reason == f"TransientError: {reason}"[:4000]
    assert event.reason == record.reason[:REASON_LIMIT]
    assert event.message_id == (None if message_id is None else message_id[:200])
    assert (event.kind, event.dequeue_count) == ("exhausted", attempt)


def test_any_app_name_and_topic_is_announced_never_redelivered_forever() -> None:
    """An app or topic name of any characters still gives a valid event (the message is acknowledged)."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app = FunctionApp("Billing_App v2", dead_letters=blob_store, events=events)
    app.topic("bus", "orders$ (EU)", model=Order)(lambda _order: None)
    assert app.handle_topic("bus", "orders$ (EU)", "ce-9", b"[]") is TopicStatus.DROP
    [event] = announced(events)
    assert (event.app, event.source) == ("Billing_App v2", "bus/orders$ (EU)")


def test_a_record_whose_event_cannot_be_built_is_kept_and_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should the event not validate, the record stands alone and the message is acknowledged."""
    blob_store, events = MemoryBlobStore(), MemoryPublisher()
    app, _ = make_app(blob_store, events)

    def refuse(_record: object) -> DeadLetterEvent:
        raise ValueError("no event for this record")

    monkeypatch.setattr(DeadLetterEvent, "of", refuse)
    app.handle("orders", b"{}", {"dequeueCount": "1", "messageID": "m-5"})
    assert len(blob_store.blobs) == 1
    assert events.published == []
