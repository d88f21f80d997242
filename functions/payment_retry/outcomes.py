"""How a case changes: pure functions from a case, its policy and what happened, to the next case.

Every message a transition owes (emails, receipts, subscription actions, and the domain event of
each effect: `publications`) goes into the case's outbox with a deterministic key, so it is written
with the case and sent after, and a downstream consumer can deduplicate on the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from functions.common import names
from functions.common.messages import EmailRequested, ReceiptRequested, SubscriptionAction
from functions.payment_retry import publications
from functions.payment_retry.declines import classify
from functions.payment_retry.model import Case, Outgoing, PaymentFailed
from functions.payment_retry.schedule import GiveUp, deadline, email_time, next_step

if TYPE_CHECKING:
    from datetime import datetime

    from functions.common.payments import Decline, NeedsCustomer
    from functions.payment_retry.model import Attempt
    from functions.payment_retry.policy import Policy

PAGE_TEMPLATE_VERSION = 2  # the dunning templates' version that shows `payment_page_url`


def opened(event: PaymentFailed, policy: Policy, now: datetime) -> Case:
    """A new case for a failed payment: first notice queued, first retry scheduled (unless hard)."""
    kind = classify(event.decline, policy)
    case = Case(
        case_id=event.payment_id,
        customer_id=event.customer_id,
        subscription_id=event.subscription_id,
        email=event.email,
        amount=event.amount,
        currency=event.currency,
        timezone=event.timezone,
        locale=event.locale,
        policy=policy.name,
        policy_version=policy.version,
        failed_at=event.failed_at,
        invoice=event.invoice,
        payment_method=event.payment_method,
        payment_page_url=event.payment_page_url,
        give_up_at=deadline(policy, event.failed_at, event.timezone),
        waiting_for_update=not kind.retry,
        stepped=True,  # its whole life is published with steps (`progress`)
    )
    wait = event.failed_at + kind.retry_after if kind.retry_after else None  # from the failure
    case = _scheduled(case, policy, now, not_before=wait)
    detail = f"{event.amount} {event.currency}, {kind.kind} decline {kind.reason_code}"
    case = case.model_copy(update={"timeline": case.noted(now, "payment failed", detail, event.event_id)})
    case = publications.opened(case, now)
    data: dict[str, str | int] = {"decline": kind.customer_code}
    data |= _page(case) if event.decline.wants_cardholder else {}
    return _email(case, policy, (policy.emails.on_failure, 0), now, data)


def succeeded(case: Case, attempt: Attempt, charge_id: str, policy: Policy, now: datetime) -> Case:
    """The attempt was paid: the case is recovered, a receipt and a "recovered" email are owed."""
    done = attempt.model_copy(update={"outcome": "succeeded", "finished_at": now, "charge_id": charge_id})
    receipt = ReceiptRequested(
        request_id=f"{case.case_id}:receipt",
        payment_id=case.case_id,
        customer_id=case.customer_id,
        email=case.email,
        amount=case.amount,
        currency=case.currency,
        paid_at=now,
        locale=case.locale,
    )
    case = case.model_copy(
        update={
            "status": "recovered",
            "claim": None,
            "next_charge_at": None,
            "attempts": _replaced(case, done),
            "outbox": (*case.outbox, _outgoing(names.RECEIPT_REQUESTS_OUT, receipt.request_id, receipt, now)),
            "timeline": case.noted(now, "recovered", f"attempt {attempt.number}, charge {charge_id}"),
        }
    )
    case = publications.closed(publications.charged(case, done, "paid", now), now)
    return _email(case, policy, (policy.emails.on_recovery, attempt.number), now, {"attempt": attempt.number})


def declined(
    case: Case,
    attempt: Attempt,
    decline: Decline,
    policy: Policy,
    now: datetime,
    *,
    page: bool = False,
    outcome: Literal["declined", "needs_customer"] = "declined",
) -> Case:
    """The attempt was declined: schedule the next step and send the ladder's email for it.

    With `page`, the email carries the processor's page for the payment, if the case knows one;
    `outcome` is what its `attempt.charged` event says.
    """
    kind = classify(decline, policy)
    done = attempt.model_copy(
        update={"outcome": "declined", "finished_at": now, "decline_code": kind.reason_code}
    )
    case = case.model_copy(
        update={
            "status": "open",
            "claim": None,
            "waiting_for_update": not kind.retry,
            "attempts": _replaced(case, done),
            "timeline": case.noted(
                now, f"attempt {attempt.number} declined", f"{kind.kind}: {kind.reason_code}"
            ),
        }
    )
    case = _scheduled(case, policy, now, not_before=now + kind.retry_after if kind.retry_after else None)
    case = publications.charged(case, done, outcome, now, kind)
    template = policy.emails.attempts[min(attempt.number, len(policy.emails.attempts)) - 1]
    data: dict[str, str | int] = {"attempt": attempt.number, "decline": kind.customer_code}
    return _email(case, policy, (template, attempt.number), now, data | (_page(case) if page else {}))


def needs_customer(
    case: Case, attempt: Attempt, answer: NeedsCustomer, policy: Policy, now: datetime
) -> Case:
    """The issuer wants the cardholder: declined as its code says, then waiting for them, whatever the advice.

    An off-session retry can never authenticate, so none is made until the customer acts (a new or
    confirmed payment method); the ladder's email for the attempt asks them to, with the processor's
    page where they can complete the payment when the case knows one (an invoice's hosted page).
    """
    case = declined(case, attempt, answer.decline, policy, now, page=True, outcome="needs_customer")
    detail = answer.reason + (f"; the processor's page: {answer.link}" if answer.link else "")
    return case.model_copy(
        update={"waiting_for_update": True, "timeline": case.noted(now, "waiting for the customer", detail)}
    )


def gave_up(case: Case, policy: Policy, now: datetime) -> Case:
    """The deadline passed: close the case, send the final action and the give-up email."""
    action = SubscriptionAction(
        action_id=f"{case.case_id}:final",
        subscription_id=case.subscription_id,
        case_id=case.case_id,
        action=policy.final_action,
        decided_at=now,
    )
    case = case.model_copy(
        update={
            "status": "abandoned",
            "claim": None,
            "next_charge_at": None,
            "outbox": (
                *case.outbox,
                _outgoing(names.SUBSCRIPTION_ACTIONS_OUT, action.action_id, action, now),
            ),
            "timeline": case.noted(now, "abandoned", f"final action {policy.final_action}"),
        }
    )
    case = publications.closed(case, now)
    return _email(
        case, policy, (policy.emails.on_give_up, len(case.attempts)), now, {"action": policy.final_action}
    )


def held(case: Case, attempt: Attempt, reason: str, *, refused: bool, now: datetime) -> Case:
    """Hold the case for an operator: the processor refused our request, or its answer is in doubt.

    A refused attempt is finished (nothing was charged), not declined; one in doubt stays pending, so a
    release asks again with its key. No email is queued; a held case never gives up on its own. Neither
    was charged, so no `attempt.charged` is published (a pending one's answer, if a release gets it, is).
    """
    attempts = case.attempts
    if refused:
        attempts = _replaced(case, attempt.model_copy(update={"outcome": "refused", "finished_at": now}))
    what = f"attempt {attempt.number} {'refused' if refused else 'in doubt'}: held for an operator"
    return case.model_copy(
        update={
            "status": "open",
            "claim": None,
            "held": reason,
            "attempts": attempts,
            "timeline": case.noted(now, what, reason),
        }
    )


def _scheduled(case: Case, policy: Policy, now: datetime, not_before: datetime | None = None) -> Case:
    made = sum(1 for attempt in case.attempts if attempt.outcome != "pending")
    previous = max((attempt.finished_at for attempt in case.attempts if attempt.finished_at), default=None)
    step = next_step(policy, case.failed_at, case.timezone, made, now, previous=previous)
    if isinstance(step, GiveUp):
        return case.model_copy(update={"next_charge_at": None, "give_up_at": step.at})
    charge_at = max(step.charge_at, not_before) if not_before else step.charge_at
    return case.model_copy(update={"next_charge_at": charge_at})


def _page(case: Case) -> dict[str, str | int]:
    """The email data naming the processor's page for the payment (its link and host), if there is one."""
    url = case.payment_page_url
    return {"payment_page_url": url, "payment_page_host": urlsplit(url).hostname or ""} if url else {}


def _email(
    case: Case, policy: Policy, step: tuple[str, int], now: datetime, data: dict[str, str | int]
) -> Case:
    """Queue the email of `step` (template, attempt): the same key however often it is computed.

    An email with the processor's page is the template's version 2, which shows it; any other version 1.
    """
    template, number = step
    key = f"{case.case_id}:{template}:{number}"
    request = EmailRequested(
        request_id=key,
        template=template,
        template_version=PAGE_TEMPLATE_VERSION if "payment_page_url" in data else 1,
        locale=case.locale,
        to=case.email,
        data={"case_id": case.case_id, "amount": case.amount, "currency": case.currency, **data},
    )
    last, end = case.last_email_at, case.give_up_at
    due = email_time(policy, template, now, case.timezone, last=last, give_up_at=end)
    if isinstance(due, str):  # the policy's spacing: no burst of emails after a late failure
        return case.model_copy(update={"timeline": case.noted(now, "email skipped", f"{key}: {due}")})
    outgoing = _outgoing(names.EMAIL_REQUESTS_OUT, key, request, due)
    return case.model_copy(update={"outbox": (*case.outbox, outgoing), "last_email_at": due})


def _outgoing(
    queue: str, key: str, message: EmailRequested | ReceiptRequested | SubscriptionAction, due: datetime
) -> Outgoing:
    return Outgoing(queue=queue, key=key, message=message, due_at=due)


def _replaced(case: Case, attempt: Attempt) -> tuple[Attempt, ...]:
    return tuple(attempt if item.number == attempt.number else item for item in case.attempts)
