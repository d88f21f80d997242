"""The aggregator counts each email event once, by status and by status and template."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bindings.testing import MemoryStateStore
from functions.aggregator import app as aggregator
from functions.aggregator import tallies
from functions.common import aggregates, domain_events
from functions.common.aggregates import Tally
from functions.common.domain_events import EmailEvent, EmailEventType, email_event_id

DAY = date(2026, 12, 6)
LATE = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


def email(kind: EmailEventType, request_id: str = "req-1", template: str = "reminder") -> EmailEvent:
    """An email event of `kind`, late on DAY; a provider's event has its sg_event_id."""
    provider = None if kind in {"email.sent", "email.suppressed"} else f"sg-{kind}-{request_id}"
    return EmailEvent(
        type=kind, event_id=email_event_id(kind, request_id, provider), request_id=request_id,
        template=template, occurred_at=LATE, provider_event_id=provider,
        permanent=True if kind == "email.bounced" else None,
    )  # fmt: skip


def test_an_email_event_counts_under_its_status_and_template() -> None:
    """`-/{status}` and `-/{status}.{template}`, amount 0: no currency for email."""
    assert tallies.email_dimensions(email("email.opened")) == {"-/opened": 0, "-/opened.reminder": 0}


def test_the_handler_counts_each_email_event_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sent twice (a redelivery), delivered, another request's sent: each id once, on the event's day."""
    store = MemoryStateStore()
    monkeypatch.setattr(aggregator, "store", store)
    for event in (
        email("email.sent"),
        email("email.sent"),
        email("email.delivered"),
        email("email.sent", "r2"),
    ):
        aggregator.on_email(event)
    assert aggregates.totals(store, domain_events.EMAIL, DAY) == {
        "-/sent": Tally(count=2, amount=0),
        "-/sent.reminder": Tally(count=2, amount=0),
        "-/delivered": Tally(count=1, amount=0),
        "-/delivered.reminder": Tally(count=1, amount=0),
    }
    assert aggregates.totals(store, domain_events.DUNNING, DAY) == {}
