"""The dunning engine: open, settle and close cases through typed ports, safe with many replicas.

Every replica receives every tick. A replica works on a case only after claiming it: an ETag-guarded
write that records its lease and, for a charge, the attempt with its idempotency key
(`case_id:attempt`), *before* the processor is called. A replica that dies mid-charge leaves a
pending attempt; once the lease expires another replica claims the case and charges again with the
same key, and the processor replays the first result. So each (case, attempt) is charged once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bindings.errors import ConflictError, PermanentError, TransientError
from functions.common import domain_events, names
from functions.common.messages import EmailRequested
from functions.common.payments import Declined, Later, NeedsCustomer, Paid, Refused
from functions.payment_retry import arrivals, attempts, doubles, inbox, outcomes
from functions.payment_retry.model import (
    Attempt,
    Case,
    Claim,
    Event,
    PaymentFailed,
    PaymentMethodUpdated,
    PaymentSucceeded,
)
from functions.payment_retry.policy import load_policy

if TYPE_CHECKING:
    from collections.abc import Container, Mapping

    from bindings.ports import Queue
    from functions.common.payments import PaymentGateway
    from functions.payment_retry.cases import CaseStore
    from functions.payment_retry.policy import Policy

_log = logging.getLogger(__name__)
RETRY_AFTER_ERROR = timedelta(minutes=5)  # the first wait after a busy, failing or silent processor
MAX_RETRY_AFTER_ERROR = timedelta(hours=1)  # doubling per time the same attempt is put off, up to this


def backoff(attempt: Attempt) -> timedelta:
    """How long to put `attempt` off again: 5 minutes, doubling each time it was put off, at most an hour."""
    doubled: timedelta = RETRY_AFTER_ERROR * 2 ** min(attempt.deferrals, 10)
    return min(doubled, MAX_RETRY_AFTER_ERROR)


# Where outbox items go: the queues and the topic `Dunning.queues` must hold, by name.
OUTBOUND = (
    names.EMAIL_REQUESTS_OUT,
    names.RECEIPT_REQUESTS_OUT,
    names.SUBSCRIPTION_ACTIONS_OUT,
    domain_events.DUNNING_QUEUE,
)


@dataclass(frozen=True)
class Dunning:
    """The engine over its ports; `owner` names this replica in claims."""

    cases: CaseStore
    gateway: PaymentGateway
    queues: Mapping[str, Queue]
    owner: str
    lease: timedelta = timedelta(minutes=2)
    suppressed: Container[str] = ()  # addresses never to mail (email-state's suppression list)

    def on_failed(self, event: PaymentFailed, now: datetime) -> None:
        """Open a case (or refuse a conflicting failure): see `inbox`."""
        inbox.on_failed(self, event, now)

    def on_succeeded(self, event: PaymentSucceeded, now: datetime) -> None:
        """Remember the settlement and stop dunning the payment: see `inbox`."""
        inbox.on_succeeded(self, event, now)

    def on_method_updated(self, event: PaymentMethodUpdated, now: datetime) -> None:
        """Remember the update and retry the customer's open cases at once: see `inbox`."""
        inbox.on_method_updated(self, event, now)

    def settle(self, case_id: str, now: datetime) -> bool:
        """Do what `case_id` owes at `now`; True when nothing is left due, False if busy or deferred."""
        case, etag = self.cases.get(case_id)
        due = case.next_due() if case is not None else None
        if case is None or due is None or due > now:
            return True
        if case.claim is not None and case.claim.until > now:  # another replica, or another handler here
            return False  # (an event and a tick of one replica share its owner): never two senders
        policy = load_policy(case.policy, case.policy_version)
        charge_at = case.next_charge_at
        charging = case.is_open and case.held is None and not case.waiting_for_update
        charging = charging and charge_at is not None and charge_at <= now
        if charging and (paid := self.cases.settlement(case_id)) is not None:  # settled while it opened
            closed = arrivals.paid_elsewhere(case, paid.event_id, now)  # claimed: one sender of its outbox
            closed = closed.model_copy(update={"claim": Claim(owner=self.owner, until=now + self.lease)})
            return self._write(closed, now, etag) and self._flush(case_id, now)
        attempt = attempts.next_attempt(case) if charging else None
        claimed = case.model_copy(
            update={
                "claim": Claim(owner=self.owner, until=now + self.lease),
                "status": "retrying" if attempt else case.status,
                "attempts": attempts.with_attempt(case.attempts, attempt),
            }
        )
        self.cases.index(case_id, now + self.lease, now)
        try:
            self.cases.replace(claimed, etag)
        except ConflictError:
            return False
        if attempt is not None:
            return self._charge(claimed, attempt, policy, now) and self._flush(case_id, now)
        if case.is_open and case.held is None and case.give_up_at <= now:  # claimed until flushed
            gave_up = outcomes.gave_up(claimed, policy, now)
            self._write(gave_up.model_copy(update={"claim": claimed.claim}), now)
        return self._flush(case_id, now)

    def _charge(self, case: Case, attempt: Attempt, policy: Policy, now: datetime) -> bool:
        try:
            answer = self.gateway.charge(attempts.charge_order(case, attempt))
        except TransientError as error:
            _log.warning("attempt %s failed at the processor, retrying later: %s", attempt.key, error)
            return self._release(case.case_id, now, put_off=attempt)
        if isinstance(answer, Later):
            _log.warning("attempt %s: %s; retrying later with the same key", attempt.key, answer.reason)
            return self._release(case.case_id, now, put_off=attempt)
        current, etag = self.cases.get(case.case_id)
        pending = current and any(a.key == attempt.key and a.outcome == "pending" for a in current.attempts)
        if current is None or not pending:
            _log.info("attempt %s settled by another replica", attempt.key)
            return False
        if isinstance(answer, Paid):
            after = outcomes.succeeded(current, attempt, answer.charge_id, policy, now)
        elif isinstance(answer, Declined):
            after = outcomes.declined(current, attempt, answer.decline, policy, now)
        elif isinstance(answer, NeedsCustomer):
            after = outcomes.needs_customer(current, attempt, answer, policy, now)
        else:  # refused or in doubt: an operator decides; the customer hears nothing of it
            _log.error("case %s held for an operator: %s: %s", case.case_id, attempt.key, answer.reason)
            refused = isinstance(answer, Refused)
            after = outcomes.held(current, attempt, answer.reason, refused=refused, now=now)
        if not current.is_open:  # a success closed it while the charge was out: see `doubles`
            other = self.cases.settlement(case.case_id)
            after = doubles.answered_after_close(current, after, attempt.key, other, now)
            level = logging.ERROR if after.status == doubles.STATUS or after.held else logging.INFO
            _log.log(level, "attempt %s answered %s after case %s closed: %s", attempt.key,
                     type(answer).__name__, case.case_id, after.status)  # fmt: skip
        # Still claimed until `_flush` has sent what the outcome owes: one sender of its outbox.
        return self._write(after.model_copy(update={"claim": current.claim}), now, etag)

    def _flush(self, case_id: str, now: datetime) -> bool:
        case, etag = self.cases.get(case_id)
        if case is None:
            return True
        due = [item for item in case.outbox if item.due_at <= now]
        sent: list[str] = []
        failing: set[str] = set()  # queues (topics) that failed: their later items wait, in order
        timeline = case.timeline
        for item in due:
            if isinstance(item.message, EmailRequested) and item.message.to in self.suppressed:
                timeline = (*timeline, Event(at=now, what="email skipped", detail=f"{item.key}: suppressed"))
                sent.append(item.key)
                continue
            if item.queue in failing:
                continue
            try:
                self.queues[item.queue].send(item.message)
            except (TransientError, PermanentError) as error:  # permanent: e.g. a component not deployed
                level = logging.WARNING if isinstance(error, TransientError) else logging.ERROR
                _log.log(level, "could not send %s yet: %s", item.key, error)
                failing.add(item.queue)
                continue
            sent.append(item.key)
        left = tuple(item for item in case.outbox if item.key not in sent)
        update = {"outbox": left, "sent": (*case.sent, *sent), "claim": None, "timeline": timeline}
        done = case.model_copy(update=update)
        return self._write(done, now, etag) and len(sent) == len(due)

    def _release(self, case_id: str, now: datetime, *, put_off: Attempt) -> bool:
        """Free the claim and put the pending attempt off (`backoff`): it is asked again with its key."""
        case, etag = self.cases.get(case_id)
        if case is None or case.claim is None or case.claim.owner != self.owner:
            return False
        pending = next((a for a in case.attempts if a.key == put_off.key and a.outcome == "pending"), put_off)
        later = pending.model_copy(update={"deferrals": pending.deferrals + 1})
        kept = tuple(later if a is pending else a for a in case.attempts)
        wait = backoff(pending)
        free = case.model_copy(
            update={"claim": None, "status": "open", "next_charge_at": now + wait, "attempts": kept}
        )
        if not case.is_open:  # closed by a success meanwhile: never reopened, held with the attempt pending
            free = case.model_copy(update={"claim": None})
        return self._write(free, now, etag)

    def _write(self, case: Case, now: datetime, etag: str | None = None) -> bool:
        if etag is None:
            etag = self.cases.get(case.case_id)[1]
        self.cases.index_next_due(case, now)
        try:
            self.cases.replace(case, etag)
        except ConflictError:
            _log.info("case %s changed under us; the next tick looks again", case.case_id)
            return False
        return True
