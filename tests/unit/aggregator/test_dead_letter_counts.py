"""The aggregator counts each dead letter once, by source and kind, as the framework announces it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bindings.app import FunctionApp
from bindings.messages import DeadLetterEvent
from bindings.testing import MemoryBlobStore, MemoryPublisher, MemoryStateStore
from functions.aggregator import app as aggregator
from functions.aggregator import tallies
from functions.common import aggregates, domain_events
from functions.common.aggregates import Tally
from tests.unit.test_app import Order
from tests.unit.test_dead_letter_events import announced

DAY = date(2026, 12, 6)


def invalid_payment_event() -> DeadLetterEvent:
    """The event payment-retry announces for a payment event that is not JSON."""
    events = MemoryPublisher()
    app = FunctionApp("payment-retry", dead_letters=MemoryBlobStore(), events=events)
    app.queue("payment-events", model=Order)(lambda _order: None)
    app.handle("payment-events", b"not json", {"dequeueCount": "1", "messageID": "m-1"})
    [event] = announced(events)
    return event


def test_a_dead_letter_counts_under_its_source_and_kind() -> None:
    """`-/source.{source}`, the same at its UTC hour (`@HH`) and `-/kind.{kind}`, amount 0."""
    event = invalid_payment_event()
    event = event.model_copy(update={"occurred_at": datetime(2026, 12, 6, 23, 59, tzinfo=UTC)})
    assert tallies.dead_letter_dimensions(event) == {
        "-/source.payment-events": 0,
        "-/source.payment-events@23": 0,
        "-/kind.invalid": 0,
    }


def test_the_hour_of_a_dead_letter_is_its_utc_hour() -> None:
    """A dead letter written at 01:30 in UTC+2 counts under the UTC hour 23 (of the day before)."""
    event = invalid_payment_event()
    local = datetime(2026, 12, 7, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert "-/source.payment-events@23" in tallies.dead_letter_dimensions(
        event.model_copy(update={"occurred_at": local})
    )


def test_the_handler_counts_each_dead_letter_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two apps' dead letters, one announced twice (its message came back): each record counted once."""
    store = MemoryStateStore()
    monkeypatch.setattr(aggregator, "store", store)
    events = MemoryPublisher()
    for name, source in (("payment-retry", "payment-events"), ("aggregator", "domain-events/dunning")):
        app = FunctionApp(name, dead_letters=MemoryBlobStore(), events=events)
        app.queue(source, model=Order)(lambda _order: None)
        app.handle(source, b"[]", {"dequeueCount": "1", "messageID": "m-1"})
        app.handle(source, b"[]", {"dequeueCount": "2", "messageID": "m-1"})  # the same message again
    found = announced(events)
    assert len(found) == 4
    for event in found:
        aggregator.on_dead_letter(
            event.model_copy(update={"occurred_at": datetime(2026, 12, 6, 9, tzinfo=UTC)})
        )
    assert aggregates.totals(store, domain_events.DEAD_LETTERS, DAY) == {
        "-/source.payment-events": Tally(count=1, amount=0),
        "-/source.domain-events/dunning": Tally(count=1, amount=0),
        "-/source.payment-events@09": Tally(count=1, amount=0),
        "-/source.domain-events/dunning@09": Tally(count=1, amount=0),
        "-/kind.invalid": Tally(count=2, amount=0),
    }
