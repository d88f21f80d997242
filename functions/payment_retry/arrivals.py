"""Payment events out of order: what is remembered before a case exists, and how a case takes it in.

Webhooks are unordered and duplicated. A `payment.succeeded` is remembered as a `Settlement`
(`settled:{payment id}`, the first one wins) whether or not its case exists, and a
`payment_method.updated` as the customer's latest `CardUpdate` (`card-update:{customer id}`). A
`payment.failed` that finds a settlement opens a case that is already closed; one that finds a card
update newer than its `failed_at` opens a case that retries at once. A failure whose charge terms
disagree with its case's is a conflict: the case is held for an operator, nothing is charged.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from functions.common.domain_events import DunningEvent
from functions.payment_retry import doubles, publications
from functions.payment_retry.report import money

if TYPE_CHECKING:
    from functions.payment_retry.model import Case, PaymentFailed, PaymentMethodUpdated, PaymentSucceeded


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Settlement(_Record):
    """A payment settled outside dunning (record version 1): its case must never charge it."""

    version: Literal[1] = 1
    payment_id: str
    event_id: str
    succeeded_at: datetime
    recorded_at: datetime

    @classmethod
    def of(cls, event: PaymentSucceeded, now: datetime) -> Settlement:
        """The record of `event`, received at `now`."""
        return cls(
            payment_id=event.payment_id,
            event_id=event.event_id,
            succeeded_at=event.succeeded_at,
            recorded_at=now,
        )


class CardUpdate(_Record):
    """A customer's latest payment method update (record version 1)."""

    version: Literal[1] = 1
    customer_id: str
    event_id: str
    updated_at: datetime
    recorded_at: datetime
    payment_method: str | None = None  # from payment_method.updated version 2

    @classmethod
    def of(cls, event: PaymentMethodUpdated, now: datetime) -> CardUpdate:
        """The record of `event`, received at `now`."""
        return cls(
            customer_id=event.customer_id,
            event_id=event.event_id,
            updated_at=event.updated_at,
            recorded_at=now,
            payment_method=event.payment_method,
        )


def already_paid(case: Case, settlement: Settlement, now: datetime) -> Case:
    """A case opened for a payment settled before its failure arrived: closed, nothing mailed.

    It was opened and canceled all the same: both events are owed (`case.opened`, `case.canceled`).
    """
    detail = (
        f"payment.succeeded {settlement.event_id} at {settlement.succeeded_at:%Y-%m-%d %H:%M:%S} came before"
        " this failure: nothing to collect"
    )
    closed = case.model_copy(
        update={
            "status": "canceled",
            "waiting_for_update": False,
            "next_charge_at": None,
            "outbox": tuple(item for item in case.outbox if isinstance(item.message, DunningEvent)),
            "timeline": case.noted(now, "already paid", detail, settlement.event_id),
        }
    )
    return publications.closed(closed, now)


def paid_elsewhere(case: Case, event_id: str, now: datetime) -> Case:
    """Stop dunning a payment settled elsewhere; held if a charge of ours is still unanswered.

    `case.canceled` is owed unless our charge is in flight: its answer decides how the case ended.
    """
    in_flight = doubles.in_flight(case, event_id)
    closed = case.model_copy(
        update={
            "status": "canceled",
            "next_charge_at": None,
            "held": in_flight or case.held,
            "timeline": case.noted(now, "paid elsewhere", f"payment.succeeded {event_id}", event_id),
        }
    )
    return closed if in_flight else publications.closed(closed, now)


def paid_too(case: Case, event: PaymentSucceeded, now: datetime) -> tuple[Case, str]:
    """A success for a case that gave up without collecting: the note, and why an operator must look."""
    why = f"{case.status} (subscription final action sent): paid after dunning gave up"
    reason = (
        f"payment.succeeded {event.event_id} at {event.succeeded_at:%Y-%m-%d %H:%M:%S} for {case.case_id}"
    )
    reason = f"{reason}, already {why}"
    return case.model_copy(
        update={"timeline": case.noted(now, "paid elsewhere too", reason, event.event_id)}
    ), reason


def card_is_new(case: Case, updated_at: datetime) -> bool:
    """Only an update after `failed_at` is a new card: one at or before it is the card that failed."""
    return updated_at > case.failed_at


def card_updated(
    case: Case, event_id: str, updated_at: datetime, now: datetime, payment_method: str | None = None
) -> Case:
    """The customer has a new payment method: retry at once, with it when the update names it."""
    detail = f"{event_id} at {updated_at:%Y-%m-%d %H:%M:%S}: retrying now"
    return case.model_copy(
        update={
            "payment_method": payment_method or case.payment_method,
            "waiting_for_update": False,
            "next_charge_at": now,
            "timeline": case.noted(now, "payment method updated", detail, event_id),
        }
    )


def invoice_paid_by_us(case: Case, event_id: str, now: datetime) -> Case:
    """Stripe reports the invoice our retry paid as paid: noted, nothing else (an invoice is paid once)."""
    return case.model_copy(
        update={"timeline": case.noted(now, "invoice paid", f"{case.invoice}: our retry's payment", event_id)}
    )


def conflict(case: Case, event: PaymentFailed) -> str | None:
    """Why `event` disagrees with the failure that opened `case` (what would be charged), or None."""
    terms = (case.customer_id, case.subscription_id, case.amount, case.currency)
    if terms == (event.customer_id, event.subscription_id, event.amount, event.currency):
        return None
    first = case.timeline[0].event_id if case.timeline and case.timeline[0].event_id else "the first"
    said = f"{money(case.amount, case.currency)} for {case.customer_id}/{case.subscription_id}"
    says = f"{money(event.amount, event.currency)} for {event.customer_id}/{event.subscription_id}"
    return (
        f"payment.failed {event.event_id} conflicts with case {case.case_id}: {first} says {said},"
        f" {event.event_id} says {says}"
    )


def conflicted(case: Case, event: PaymentFailed, reason: str, now: datetime) -> Case:
    """Note a conflicting failure; an open case is held so nothing is charged until an operator decides."""
    update: dict[str, object] = {
        "timeline": case.noted(now, "conflicting payment.failed", reason, event.event_id)
    }
    if case.is_open and case.held is None:
        update["held"] = f"{reason}; nothing is charged until an operator decides"
    return case.model_copy(update=update)
