"""What each payment event does to the cases, in whatever order and however often the events arrive.

- `payment.failed` opens a case unless one exists. The same charge terms (customer, subscription,
  amount, currency) again are a duplicate and change nothing; different terms are a conflict: noted on
  the case, which is held for an operator if open, and the event is refused (`PermanentError`, dead
  letter). A settlement remembered before the failure opens the case already closed; a card update
  newer than the failure's `failed_at` opens it retrying at once.
- `payment.succeeded` is remembered as a settlement, then closes the open case, if any (held for an
  operator if our charge is in flight: see `doubles`). After our recovery it is a double collection:
  the case becomes `double_collected` and a refund review is owed (`doubles`); the event is
  acknowledged; but an invoice is paid once, so after our recovery of one its `payment.succeeded` is
  our own payment reported back: noted and acknowledged. After dunning gave up (abandoned) it is noted
  and refused for an operator.
- `payment_method.updated` is remembered as the customer's latest, then wakes their open cases that
  failed before it.

Each case records on its timeline the payment events it took in, so a redelivery changes nothing.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from bindings.errors import ConflictError, PermanentError
from bindings.optimistic import retry_conflicts
from functions.payment_retry import arrivals, doubles, outcomes
from functions.payment_retry.policy import MAX_RETRIES, latest

if TYPE_CHECKING:
    from datetime import datetime

    from functions.payment_retry.dunning import Dunning
    from functions.payment_retry.model import (
        Attempt,
        Case,
        PaymentFailed,
        PaymentMethodUpdated,
        PaymentSucceeded,
    )

_log = logging.getLogger(__name__)
_TRIES = 25


def on_failed(dunning: Dunning, event: PaymentFailed, now: datetime) -> None:
    """Open a case under the newest policy version, taking in what arrived before the failure."""
    cases = dunning.cases
    existing = cases.get(event.payment_id)[0]
    if existing is not None:
        _again(dunning, existing, event, now)
        return
    case = outcomes.opened(event, latest(event.policy), now)
    update = cases.card_update(event.customer_id)
    if (settlement := cases.settlement(event.payment_id)) is not None:
        _log.warning(
            "payment.failed %s for %s, already paid: nothing to collect", event.event_id, case.case_id
        )
        case = arrivals.already_paid(case, settlement, now)
    elif update is not None and arrivals.card_is_new(case, update.updated_at):
        case = arrivals.card_updated(case, update.event_id, update.updated_at, now, update.payment_method)
    cases.start_cursor(now)
    cases.add_customer_case(case.customer_id, case.case_id)
    cases.index_next_due(case, now)
    try:
        cases.create(case)
    except ConflictError:
        _log.info("case %s opened concurrently by another delivery", case.case_id)
        on_failed(dunning, event, now)
        return
    dunning.settle(case.case_id, now)


def _again(dunning: Dunning, case: Case, event: PaymentFailed, now: datetime) -> None:
    reason = arrivals.conflict(case, event)
    if reason is None:
        _log.info("case %s exists: duplicate payment.failed %s", event.payment_id, event.event_id)
        return

    def note() -> None:
        current, etag = dunning.cases.get(event.payment_id)
        if current is not None and not current.has_seen(event.event_id):
            dunning.cases.replace(arrivals.conflicted(current, event, reason, now), etag)

    retry_conflicts(note, tries=_TRIES)
    _log.error("%s", reason)
    raise PermanentError(reason)


def on_succeeded(dunning: Dunning, event: PaymentSucceeded, now: datetime) -> None:
    """Remember the settlement, then stop dunning the payment; flag it if dunning already collected it."""
    dunning.cases.remember_settlement(event, now)

    def close() -> tuple[str | None, bool]:  # (why to refuse the event, whether a message is owed)
        case, etag = dunning.cases.get(event.payment_id)
        if case is None:
            _log.info(
                "payment.succeeded %s for %s before its failure: remembered", event.event_id, event.payment_id
            )
            return None, False
        if case.is_open:  # a `case.canceled` is owed unless our charge is in flight: sent at once
            closed = arrivals.paid_elsewhere(case, event.event_id, now)
            dunning.cases.index_next_due(closed, now)
            dunning.cases.replace(closed, etag)
            return None, bool(closed.outbox)
        if case.status == "recovered" and (charge := doubles.our_charge(case)) is not None:
            return None, _after_recovery(dunning, case, charge, etag, event=event, now=now)
        if case.status in {"canceled", doubles.STATUS}:
            _log.info("payment.succeeded %s: case %s already %s", event.event_id, case.case_id, case.status)
            return None, False
        noted, reason = arrivals.paid_too(case, event, now)
        if not case.has_seen(event.event_id):
            dunning.cases.replace(noted, etag)
        return reason, False

    reason, owed = retry_conflicts(close, tries=_TRIES)
    if owed:
        dunning.settle(event.payment_id, now)  # send the refund review or event now; a tick otherwise
    if reason is not None:
        _log.error("%s", reason)
        raise PermanentError(reason)


def _after_recovery(
    dunning: Dunning, case: Case, charge: Attempt, etag: str | None, *, event: PaymentSucceeded, now: datetime
) -> bool:
    """A settlement of a case we recovered: flag the double collection (True: a refund review is owed).

    An invoice is paid once: a settlement of an invoice we paid is our payment, reported back.
    """
    if case.invoice is not None:
        if not case.has_seen(event.event_id):
            dunning.cases.replace(arrivals.invoice_paid_by_us(case, event.event_id, now), etag)
        return False
    flagged = doubles.flagged(case, charge, arrivals.Settlement.of(event, now), now)
    dunning.cases.index_next_due(flagged, now)
    dunning.cases.replace(flagged, etag)
    _log.error("case %s collected twice: %s", case.case_id, flagged.timeline[-1].detail)
    return True


def on_method_updated(dunning: Dunning, event: PaymentMethodUpdated, now: datetime) -> None:
    """Remember the update, then retry at once the customer's open cases that failed before it."""
    dunning.cases.remember_card_update(event, now)
    for case_id in dunning.cases.customer_cases(event.customer_id):
        retry_conflicts(functools.partial(_wake, dunning, case_id, event, now), tries=_TRIES)


def _wake(dunning: Dunning, case_id: str, event: PaymentMethodUpdated, now: datetime) -> None:
    case, etag = dunning.cases.get(case_id)
    if case is None or not case.is_open or len(case.attempts) >= MAX_RETRIES or case.has_seen(event.event_id):
        return
    if not arrivals.card_is_new(case, event.updated_at):
        _log.info("payment_method.updated %s is not newer than case %s's failure", event.event_id, case_id)
        return
    retry = arrivals.card_updated(case, event.event_id, event.updated_at, now, event.payment_method)
    dunning.cases.index_next_due(retry, now)
    dunning.cases.replace(retry, etag)
