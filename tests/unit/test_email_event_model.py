"""`EmailEvent` (version 1): deterministic ids; provider events carry sg_event_id, bounces their kind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from functions.common.domain_events import EmailEvent, email_event_id

AT = datetime(2026, 12, 6, 12, tzinfo=UTC)


def make(**fields: Any) -> EmailEvent:
    """An `email.sent` of req-1, with `fields` changed."""
    base = {"type": "email.sent", "event_id": "req-1:sent", "request_id": "req-1", "template": "reminder"}
    return EmailEvent.model_validate({**base, "occurred_at": AT.isoformat(), **fields})


def test_ids_are_deterministic_and_bounded() -> None:
    """`{request}:sent`; a provider event's id ends in a 24-hex digest of its sg_event_id, always the same."""
    assert email_event_id("email.sent", "req-1") == "req-1:sent"
    odd = "x/+=" * 50
    delivered = email_event_id("email.delivered", "r" * 120, odd)
    assert delivered == email_event_id("email.delivered", "r" * 120, odd)
    assert len(delivered) <= 160
    assert delivered != email_event_id("email.delivered", "r" * 120, odd + "y")
    event = make(
        type="email.suppressed", event_id=email_event_id("email.suppressed", "r" * 120, odd),
        request_id="r" * 120, provider_event_id=odd,
    )  # fmt: skip
    assert event.version == 1


def test_a_valid_sent_event_round_trips() -> None:
    """An `email.sent` with its case survives JSON both ways."""
    event = make(case_id="pay_1")
    assert EmailEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    "fields",
    [
        {"event_id": "req-1:delivered"},  # not its id
        {"type": "email.delivered", "event_id": "req-1:delivered"},  # provider event, no sg_event_id
        {"provider_event_id": "sg-1"},  # email.sent is email-send's
        {"permanent": True},  # permanent is a bounce's
        {
            "type": "email.bounced", "provider_event_id": "sg-1",
            "event_id": email_event_id("email.bounced", "req-1", "sg-1"),
        },  # a bounce without permanent
        {"type": "email.complained"},  # not a version 1 type
        {"template": "Reminder"},  # not a step name
        {"occurred_at": "2026-12-06T12:00:00"},  # naive
        {"case_id": "pay 1"},  # not an id
        {"version": 2},
    ],
)  # fmt: skip
def test_inconsistent_events_are_refused(fields: dict[str, Any]) -> None:
    """Wrong id, missing or misplaced provider id or bounce kind, bad type, template, time, case, version."""
    with pytest.raises(ValidationError):
        make(**fields)
