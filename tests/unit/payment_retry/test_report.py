"""Case reports: money in each currency's precision, the table and the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from functions.payment_retry import attempts, outcomes
from functions.payment_retry.policy import load_policy
from functions.payment_retry.report import money, table, timeline
from tests.unit.payment_retry.test_dunning import NOON, failed


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1999, "EUR", "19.99 EUR"),
        (500, "JPY", "500 JPY"),
        (12345, "KWD", "12.345 KWD"),
        (123456789, "USD", "1,234,567.89 USD"),
    ],
)
def test_money_uses_the_currency_s_minor_units(amount: int, currency: str, text: str) -> None:
    """Two decimals for EUR, none for JPY, three for KWD."""
    assert money(amount, currency) == text


def test_the_table_and_timeline_show_status_attempts_and_owed_messages() -> None:
    """A new case lists as open with its next due time; its timeline names the failure and the notice owed."""
    case = outcomes.opened(failed("cus_soft_9"), load_policy("default", 1), NOON - timedelta(hours=1))
    lines = table([case]).splitlines()
    assert lines[1].split()[:3] == ["pay_cus_soft_9", "open", "cus_soft_9"]
    assert "19.99 EUR" in lines[1]
    text = timeline(case)
    assert "payment failed" in text
    assert "owes email-requests-out pay_cus_soft_9:payment_failed:0" in text


def test_the_table_shows_a_case_held_for_an_operator() -> None:
    """A held case lists why it waits for an operator instead of a due time."""
    case = outcomes.opened(failed("cus_soft_9"), load_policy("default", 2), NOON)
    attempt = attempts.next_attempt(case)
    case = case.model_copy(update={"attempts": (attempt,), "outbox": ()})
    held = outcomes.held(
        case, attempt, "processor answered 404 invalid_request_error", refused=True, now=NOON
    )
    assert "held for an operator: processor answered 404" in table([held]).splitlines()[1]
    assert f"attempt 1 key {attempt.key}: refused" in timeline(held)


@pytest.mark.parametrize(
    ("at", "zone", "in_utc", "there"),
    [
        ("2026-03-29T02:30:00+02:00", "Europe/Berlin", "2026-03-29 00:30", "2026-03-29 01:30"),
        ("2026-07-01T04:59:00-04:00", "America/New_York", "2026-07-01 08:59", "2026-07-01 04:59"),
        ("2026-01-15T23:30:00+09:00", "Asia/Tokyo", "2026-01-15 14:30", "2026-01-15 23:30"),
    ],
)
def test_the_timeline_shows_the_failure_in_utc_and_on_the_customer_s_clock(
    at: str, zone: str, in_utc: str, there: str
) -> None:
    """A failure kept with the customer's offset is converted to UTC, not relabelled, and shown locally."""
    event = failed("cus_zone_1", at=datetime.fromisoformat(at), tz=zone)
    lines = timeline(outcomes.opened(event, load_policy("default", 2), NOON)).splitlines()
    assert f"failed {in_utc} UTC ({there} {zone})," in lines[0]
    stamped = [line.split() for line in lines[1:] if line.startswith("  20")]
    assert stamped
    assert all(words[2] == "UTC" for words in stamped)
