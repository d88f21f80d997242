"""Domain events for the audit archive's tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from functions.common.domain_events import DunningEvent, EmailEvent, dunning_event_id

DAY = date(2026, 12, 6)
NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)


def opened(case_id: str = "pay_1", *, at: datetime = NOON, amount: int = 1999) -> DunningEvent:
    """A `case.opened` of `case_id` at `at`, in EUR."""
    return DunningEvent(
        type="case.opened", event_id=dunning_event_id("case.opened", case_id), case_id=case_id,
        customer_id="cus_1", occurred_at=at, amount=amount, currency="EUR", version=1,
    )  # fmt: skip


def sent(request_id: str = "req-1", *, minutes: int = 0) -> EmailEvent:
    """An `email.sent` of `request_id`, `minutes` after noon."""
    return EmailEvent(
        type="email.sent", event_id=f"{request_id}:sent", request_id=request_id, template="reminder",
        occurred_at=NOON + timedelta(minutes=minutes),
    )  # fmt: skip
