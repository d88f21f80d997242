"""email-events publishes one `EmailEvent` per lifecycle event recorded on a timeline, at least once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bindings.errors import TransientError
from bindings.testing import MemoryPublisher, MemoryStateStore
from functions.common import domain_events
from functions.common.domain_events import EmailEvent, email_event_id
from functions.common.messages import EmailEventBatch
from functions.email_events import app as email_events
from functions.email_events.lifecycle import Lifecycle

T0 = 1772452800
TAGS = {"request_id": "req-1", "email_template": "reminder", "case_id": "pay_1"}


class Stack:
    """email-events' handler over a memory state store and publisher."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.state, self.publisher = MemoryStateStore(), MemoryPublisher()
        monkeypatch.setattr(email_events, "lifecycle", Lifecycle(self.state))
        queue = domain_events.TopicQueue(self.publisher, domain_events.EMAIL)
        monkeypatch.setattr(email_events, "email_events", queue)

    def events(self) -> list[EmailEvent]:
        """Each published event, after checking its topic and CloudEvent id."""
        found = []
        for topic, event_id, event in self.publisher.published:
            assert isinstance(event, EmailEvent)
            assert (topic, event_id) == ("email", event.event_id)
            found.append(event)
        return found


def sg(kind: str, n: int, **more: Any) -> dict[str, Any]:
    """A SendGrid event `n` seconds after T0, id `sg-{kind}-{n}`, with email-send's custom args."""
    fields = {"event": kind, "email": "ana@example.com", "timestamp": T0 + n, "sg_event_id": f"sg-{kind}-{n}"}
    return {**fields, **TAGS, **more}


def batch(*events: dict[str, Any]) -> EmailEventBatch:
    """A verified webhook batch of `events`."""
    return EmailEventBatch(batch_id="b-1", received_at=datetime.now(UTC), body=json.dumps(list(events)))


def test_each_lifecycle_event_publishes_one_email_event_of_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    """delivered, open, click, bounce, blocked, dropped: one event each, ids from sg_event_id, tags kept."""
    stack = Stack(monkeypatch)
    email_events.on_batch(batch(
        sg("delivered", 1), sg("open", 2), sg("click", 3), sg("bounce", 4, type="bounce"),
        sg("bounce", 5, type="blocked"), sg("dropped", 6),
    ))  # fmt: skip
    events = stack.events()
    assert [(e.type, e.permanent) for e in events] == [
        ("email.delivered", None), ("email.opened", None), ("email.clicked", None),
        ("email.bounced", True), ("email.bounced", False), ("email.suppressed", None),
    ]  # fmt: skip
    first = events[0]
    assert first.event_id == email_event_id("email.delivered", "req-1", "sg-delivered-1")
    assert first.event_id.startswith("req-1:delivered:")
    assert (first.request_id, first.template, first.case_id, first.provider_event_id) == (
        "req-1", "reminder", "pay_1", "sg-delivered-1",
    )  # fmt: skip
    assert first.occurred_at == datetime.fromtimestamp(T0 + 1, UTC)


def test_unpublished_and_untracked_events_publish_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """processed, deferred, spamreport, unsubscribe, and events naming no request: no email event."""
    stack = Stack(monkeypatch)
    untracked = {k: v for k, v in sg("delivered", 9).items() if k != "request_id"}
    email_events.on_batch(batch(
        sg("processed", 1), sg("deferred", 2), sg("spamreport", 3), sg("unsubscribe", 4), untracked,
    ))  # fmt: skip
    assert stack.events() == []


def test_a_mail_without_tags_counts_under_the_unknown_template(monkeypatch: pytest.MonkeyPatch) -> None:
    """No email_template custom arg (sent before tagging): template `unknown`, no case."""
    stack = Stack(monkeypatch)
    email_events.on_batch(batch({**sg("delivered", 1), "email_template": None, "case_id": None}))
    (event,) = stack.events()
    assert (event.template, event.case_id) == ("unknown", None)


def test_a_redelivered_batch_publishes_the_same_ids_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A replayed batch adds nothing to the timeline and republishes the same ids (counted once)."""
    stack = Stack(monkeypatch)
    email_events.on_batch(batch(sg("delivered", 1), sg("open", 2)))
    email_events.on_batch(batch(sg("delivered", 1), sg("open", 2)))
    ids = [event.event_id for event in stack.events()]
    assert len(ids) == 4
    assert ids[:2] == ids[2:]
    timeline = email_events.lifecycle.timeline("req-1")
    assert timeline is not None
    assert len(timeline.entries) == 2


def test_a_failed_publish_redelivers_and_the_retry_publishes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Publishing fails after the batch is recorded: TransientError; the redelivery publishes every event."""
    stack = Stack(monkeypatch)
    stack.publisher.fail = TransientError("service bus unavailable")
    with pytest.raises(TransientError):
        email_events.on_batch(batch(sg("delivered", 1), sg("open", 2)))
    timeline = email_events.lifecycle.timeline("req-1")
    assert timeline is not None
    assert timeline.status == "open"  # recorded before publishing
    stack.publisher.fail = None
    email_events.on_batch(batch(sg("delivered", 1), sg("open", 2)))
    assert [event.type for event in stack.events()] == ["email.delivered", "email.opened"]
