"""A case's charge attempts: the next one to make (a pending one keeps its key) and what it asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.payments import ChargeOrder
from functions.payment_retry.model import Attempt

if TYPE_CHECKING:
    from functions.payment_retry.model import Case


def charge_order(case: Case, attempt: Attempt) -> ChargeOrder:
    """What `attempt` asks the processor for: the same order every time, so a replay matches."""
    return ChargeOrder(
        case_id=case.case_id,
        attempt=attempt.number,
        key=attempt.key,
        amount=case.amount,
        currency=case.currency,
        customer=case.customer_id,
        payment_method=case.payment_method,
        invoice=case.invoice,
    )


def next_attempt(case: Case) -> Attempt:
    """The pending attempt (a retry after a crash or an error keeps its key), or the next one."""
    for attempt in case.attempts:
        if attempt.outcome == "pending":
            return attempt
    number = len(case.attempts) + 1
    return Attempt(
        number=number, key=f"{case.case_id}:{number}", started_at=case.next_charge_at or case.failed_at
    )


def with_attempt(attempts: tuple[Attempt, ...], attempt: Attempt | None) -> tuple[Attempt, ...]:
    """`attempts` with `attempt` appended unless it is already there."""
    if attempt is None or any(item.key == attempt.key for item in attempts):
        return attempts
    return (*attempts, attempt)
