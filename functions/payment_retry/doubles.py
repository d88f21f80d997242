"""Double collections: a payment dunning charged that was also paid another way.

It happens two ways: a `payment.succeeded` arrives after our retry recovered the case (whatever its
`succeeded_at`), or it arrives while our charge is in flight and the charge is then paid. Either way
the case becomes `double_collected`, its timeline says which two payments, and a version 2
`SubscriptionAction` (`refund_review`, key `{case}:refund_review`) goes through the case's outbox, so
it is sent once however often the event is redelivered. No receipt or email goes to the customer for
it: the operator decides which payment to refund. The event is acknowledged, not dead-lettered: the
case and the message are the record, and a redriven event would change nothing.

A charge whose answer is lost while a success closes the case (a timeout, a 5xx, a replica that died)
may have been paid: the closed case is *held*, naming the attempt's key, for an operator to look up.

An invoice is paid once: a case that pays one is never collected twice. A success reported while our
payment of the invoice is in flight is our own payment or another, and the answer says which: paid,
the case is recovered by us; declined or refused (the invoice already paid), it stays closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common import names
from functions.common.subscription_actions import DoubleCollection, SubscriptionActionV2
from functions.payment_retry import publications
from functions.payment_retry.model import Outgoing

if TYPE_CHECKING:
    from datetime import datetime

    from functions.payment_retry.arrivals import Settlement
    from functions.payment_retry.model import Attempt, Case

STATUS = "double_collected"
NOTE = "double collected"


def our_charge(case: Case) -> Attempt | None:
    """The attempt dunning was paid for, if any."""
    return next((attempt for attempt in case.attempts if attempt.outcome == "succeeded"), None)


def in_flight(case: Case, event_id: str) -> str | None:
    """Why a case closed by `event_id` must wait for an operator: a charge of ours still unanswered."""
    pending = next((attempt for attempt in case.attempts if attempt.outcome == "pending"), None)
    if pending is None:
        return None
    if case.invoice is not None:
        return (
            f"attempt {pending.number} (key {pending.key}) paying {case.invoice} was in flight when"
            f" payment.succeeded {event_id} arrived: its answer says whose payment it was"
        )
    return (
        f"attempt {pending.number} (key {pending.key}) was in flight when payment.succeeded {event_id}"
        " arrived: if the processor took it, the payment was collected twice"
    )


def flagged(case: Case, charge: Attempt, other: Settlement, now: datetime) -> Case:
    """`case`, whose `charge` was paid, also paid by `other`: double_collected, a refund review owed."""
    charged_at = charge.finished_at or now
    detail = (
        f"our charge {charge.charge_id} (key {charge.key}, {charged_at:%Y-%m-%d %H:%M:%S}) and"
        f" payment.succeeded {other.event_id} ({other.succeeded_at:%Y-%m-%d %H:%M:%S}): refund one"
    )
    action = SubscriptionActionV2(
        action_id=f"{case.case_id}:refund_review",
        subscription_id=case.subscription_id,
        case_id=case.case_id,
        action="refund_review",
        decided_at=now,
        double_collection=DoubleCollection(
            payment_id=case.case_id,
            amount=case.amount,
            currency=case.currency,
            charge_id=charge.charge_id or "?",
            charge_key=charge.key,
            charged_at=charged_at,
            other_event_id=other.event_id,
            other_succeeded_at=other.succeeded_at,
        ),
    )
    owed = Outgoing(queue=names.SUBSCRIPTION_ACTIONS_OUT, key=action.action_id, message=action, due_at=now)
    return case.model_copy(
        update={
            "status": STATUS,
            "held": None,
            "claim": None,
            "next_charge_at": None,
            "outbox": (*case.outbox, owed),
            "timeline": case.noted(now, NOTE, detail, other.event_id),
        }
    )


def answered_after_close(
    closed: Case, answered: Case, key: str, other: Settlement | None, now: datetime
) -> Case:
    """The answer to charge `key`, in flight when a success closed the case (`answered`: as if still open).

    Paid: double collected (an invoice's: recovered, the success was ours). Declined or refused:
    nothing was collected, the case stays closed. No answer to read (in doubt): the attempt stays
    pending and the case stays held. A charge answered owes its `attempt.charged`; a case no longer
    held owes the event of how it ended (`case.canceled` if a success closed it), held back till now.
    """
    attempt = next(item for item in answered.attempts if item.key == key)
    base = closed.model_copy(update={"attempts": answered.attempts, "claim": None})
    base = publications.charges_of(answered, base)
    if attempt.outcome == "succeeded" and closed.invoice is not None:  # the invoice's one payment: ours
        return answered.model_copy(update={"claim": None, "held": None})
    if attempt.outcome == "succeeded" and other is not None:
        return publications.closed(flagged(base, attempt, other, now), now, closed.status)
    if attempt.outcome in {"declined", "refused"}:
        return publications.closed(base.model_copy(update={"held": None, "timeline": answered.timeline}), now)
    why = closed.held or answered.held or f"charge {key} answered after the case closed"
    return base.model_copy(update={"held": why, "timeline": answered.timeline})


def marker(case: Case) -> str | None:
    """What `bindery cases` shows for a closed case an operator must look at, if anything."""
    notes = [event for event in case.timeline if event.what in {NOTE, "paid elsewhere too"}]
    if case.status == STATUS:
        return f"DOUBLE COLLECTED: {notes[-1].detail if notes else 'refund one'}"
    if case.status == "abandoned" and notes:
        return f"paid after dunning gave up (payment.succeeded {notes[-1].event_id}): dead-lettered"
    return None
