"""DunningEvent version 2's contract: its three fields, their rules, and version 1 read as before."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from functions.common.domain_events import DunningEvent
from functions.payment_retry import progress
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import Case, Event
from tests.unit.payment_retry.event_journal import Recorded
from tests.unit.payment_retry.test_domain_events import _CHARGED, _OPENED
from tests.unit.payment_retry.test_processor_errors import NOON, OK, SOFT, Processor, failed

FAILED = (NOON - timedelta(hours=3)).isoformat()
V2 = _OPENED | {"version": 2, "failed_at": FAILED, "step": 0}
PAID = _CHARGED | {"version": 2, "failed_at": FAILED, "step": 1, "outcome": "paid"}
RECOVERED = V2 | {"type": "case.recovered", "event_id": "pay_1:recovered", "step": 1}


def test_a_version_1_payload_reads_and_writes_exactly_as_before() -> None:
    """Version 1 validates with none of version 2's fields and is written back without them."""
    event = DunningEvent.model_validate(_OPENED)
    assert (event.version, event.failed_at, event.step, event.email_step) == (1, None, None, None)
    written = json.loads(event.model_dump_json())
    assert set(written) == {*_OPENED, "attempt", "outcome", "decline_class", "decline_code"}
    assert DunningEvent.model_validate(written) == event


def test_version_2_is_the_default_and_keeps_its_fields_through_json() -> None:
    """A new event is version 2; failed_at, step and email_step survive a JSON round trip."""
    fields = {key: value for key, value in RECOVERED.items() if key != "version"}
    event = DunningEvent.model_validate(fields | {"email_step": "reminder"})
    assert (event.version, event.failed_at, event.step, event.email_step) == (
        2, NOON - timedelta(hours=3), 1, "reminder",
    )  # fmt: skip
    assert DunningEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    "fields",
    [
        V2,
        PAID,
        PAID | {"attempt": 5, "event_id": "pay_1:attempt:5", "step": 3},  # refused attempts left gaps
        RECOVERED | {"email_step": "final_notice"},
        RECOVERED | {"type": "case.canceled", "event_id": "pay_1:canceled", "step": 0},
        RECOVERED | {"step": None},  # a case opened before version 2
        PAID | {"step": None},
    ],
)
def test_version_2_events_that_keep_the_rules_are_accepted(fields: dict[str, object]) -> None:
    """failed_at given; step 0 opening, 1+ on a charge, any on a close, or None; email_step on a close."""
    assert DunningEvent.model_validate(fields).version == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (_OPENED | {"failed_at": FAILED}, "failed_at: fields of version 2, in a version 1 event"),
        (_OPENED | {"step": 0}, "step: fields of version 2"),
        (_OPENED | {"email_step": "reminder"}, "email_step: fields of version 2"),
        ({key: value for key, value in V2.items() if key != "failed_at"}, "needs failed_at"),
        (V2 | {"step": 1}, "case.opened is step 0, not 1"),
        (PAID | {"step": 0}, "attempt.charged is step 1 or more"),
        (V2 | {"email_step": "payment_failed"}, "case.opened has no email_step"),
        (PAID | {"email_step": "reminder"}, "attempt.charged has no email_step"),
        (RECOVERED | {"email_step": "Reminder!"}, "email_step"),
        (RECOVERED | {"step": 1001}, "step"),
        (RECOVERED | {"step": -1}, "step"),
        (V2 | {"failed_at": "2026-03-02T09:00:00"}, "timezone"),
    ],
)
def test_an_event_breaking_version_2_s_rules_is_refused_with_the_reason(
    fields: dict[str, object], reason: str
) -> None:
    """Version 1 carries no version 2 field; version 2 needs failed_at; step and email_step fit the type."""
    with pytest.raises(ValidationError, match=reason):
        DunningEvent.model_validate(fields)


def test_a_new_case_is_stepped_and_an_older_one_reads_as_not() -> None:
    """`stepped` is written when True only: a case stored without it reads back unstepped."""
    world = Recorded(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    case = world.case()
    assert json.loads(case.model_dump_json())["stepped"] is True
    older = case.model_copy(update={"stepped": False})
    assert "stepped" not in json.loads(older.model_dump_json())
    assert Case.model_validate_json(older.model_dump_json()).stepped is False


def _case(sent: tuple[str, ...], skipped: tuple[str, ...] = ()) -> Case:
    """Case pay_1 (default policy v3) that sent `sent` and noted the keys `skipped` as suppressed."""
    notes = tuple(Event(at=NOON, what="email skipped", detail=f"{key}: suppressed") for key in skipped)
    return Case(
        case_id="pay_1", customer_id="cus_1", subscription_id="sub_1", email="a@example.com", amount=5,
        currency="EUR", timezone="UTC", locale="en", policy="default", policy_version=3, failed_at=NOON,
        give_up_at=NOON + timedelta(days=10), sent=sent, timeline=notes,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "skipped", "expected"),
    [
        ((), (), None),
        (("dunning:pay_1:opened", "pay_1:payment_failed:0"), (), "payment_failed"),
        (("pay_1:payment_failed:0", "pay_1:reminder:1", "pay_1:receipt", "pay_1:final"), (), "reminder"),
        (("pay_1:update_card:2", "pay_1:update_card:3", "pay_1:recovered:3"), (), "update_card"),
        (("pay_1:final_notice:4", "pay_1:canceled:4"), (), "final_notice"),
        (("pay_1:payment_failed:0", "pay_1:reminder:1"), ("pay_1:reminder:1",), "payment_failed"),
        (("pay_1:payment_failed:0",), ("pay_1:payment_failed:0",), None),
        (("pay_10:reminder:1", "pay_1:refund_review"), (), None),  # another case's key, not an email
    ],
)
def test_email_step_is_the_last_ladder_email_sent_and_not_suppressed(
    sent: tuple[str, ...], skipped: tuple[str, ...], expected: str | None
) -> None:
    """By `sent` order; recovered and canceled follow a close; a suppressed one was never mailed."""
    assert progress.email_step(_case(sent, skipped)) == expected
