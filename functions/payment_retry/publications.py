"""The domain events dunning publishes (`functions.common.domain_events`), through the case's outbox.

Each effect owes one `DunningEvent` on the `dunning` topic, put in the outbox in the same write as
the effect (so none is published for an effect not recorded) and sent after it like an email
(so at least once). Its outbox key is `dunning:{event id}`; an event already owed or sent is never
owed again, so recomputing a transition or a redelivered payment event adds nothing.

- `case.opened`: the case is created (`outcomes.opened`), whatever it does next;
- `attempt.charged`: the processor answered a charge: `paid` (`outcomes.succeeded`), `declined` or
  `needs_customer` (`outcomes.declined`, `outcomes.needs_customer`). A refused attempt or one in doubt
  (`outcomes.held`) charged nothing: no event;
- `case.recovered`: our retry was paid (`outcomes.succeeded`);
- `case.abandoned`: the deadline passed (`outcomes.gave_up`);
- `case.canceled`: paid elsewhere (`arrivals`), or closed by an operator (`releases`). A case closed
  while our charge was in flight is held until the answer (or an operator) settles how it ended: its
  close is published then, once (`doubles.answered_after_close`, `releases.closed`).

A case owes one close at most: once one is owed or sent, no other is (an answer after an operator's
close does not add a `case.recovered`). Every event is version 2: the case's `failed_at`, its `step`
and, on a close, its `email_step`, as `progress` reads them from the case; the close's `email_step`
goes on the timeline too (`LAST_EMAIL`), for the operator (`bindery cases ID`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.domain_events import DUNNING, DUNNING_QUEUE, DunningEvent, dunning_event_id
from functions.payment_retry import progress
from functions.payment_retry.model import Outgoing

if TYPE_CHECKING:
    from datetime import datetime

    from functions.common.domain_events import ChargeOutcome, DunningEventType
    from functions.payment_retry.declines import DeclineClass
    from functions.payment_retry.model import Attempt, Case

LAST_EMAIL = "last dunning email before it"  # the timeline entry after a close: its event's `email_step`
_CLOSES: dict[str, DunningEventType] = {
    "recovered": "case.recovered",
    "abandoned": "case.abandoned",
    "canceled": "case.canceled",
}


def opened(case: Case, now: datetime) -> Case:
    """`case` owing its `case.opened`."""
    return _owed(case, _event(case, "case.opened", now))


def charged(
    case: Case, attempt: Attempt, outcome: ChargeOutcome, now: datetime, decline: DeclineClass | None = None
) -> Case:
    """`case` owing the `attempt.charged` of `attempt`, with the decline's class and code when declined."""
    fields: dict[str, object] = {"outcome": outcome}
    if decline is not None:
        fields |= {"decline_class": decline.kind, "decline_code": decline.reason_code}
    return _owed(case, _event(case, "attempt.charged", now, attempt.number, fields))


def closed(case: Case, now: datetime, status: str | None = None) -> Case:
    """`case` owing the event of how it ended: `status`, by default its own (none for `double_collected`).

    Nothing more if it owes or has sent a close already: a case ends once.
    """
    kind = _CLOSES.get(status or case.status)
    if kind is None or progress.close_known(case):
        return case
    step = progress.email_step(case)
    case = _owed(case, _event(case, kind, now, fields={"email_step": step}))
    return case.model_copy(update={"timeline": case.noted(now, LAST_EMAIL, step or "none")})


def charges_of(answered: Case, case: Case) -> Case:
    """`case` owing the `attempt.charged` events `answered` (the same case after a charge) owes."""
    owed = [item for item in answered.outbox if _is_charge(item.message)]
    known = {item.key for item in case.outbox} | set(case.sent)
    return case.model_copy(update={"outbox": (*case.outbox, *(i for i in owed if i.key not in known))})


def _is_charge(message: object) -> bool:
    return isinstance(message, DunningEvent) and message.type == "attempt.charged"


def _event(
    case: Case,
    kind: DunningEventType,
    now: datetime,
    attempt: int | None = None,
    fields: dict[str, object] | None = None,
) -> DunningEvent:
    return DunningEvent.model_validate({
        "type": kind,
        "event_id": dunning_event_id(kind, case.case_id, attempt),
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "occurred_at": now,
        "amount": case.amount,
        "currency": case.currency,
        "attempt": attempt,
        "failed_at": case.failed_at,
        "step": progress.step(case, kind),
        **(fields or {}),
    })  # fmt: skip


def _owed(case: Case, event: DunningEvent) -> Case:
    """`case` with `event` in its outbox, due now, unless it is already owed or sent."""
    key = f"{DUNNING}:{event.event_id}"
    if key in case.sent or any(item.key == key for item in case.outbox):
        return case
    owed = Outgoing(queue=DUNNING_QUEUE, key=key, message=event, due_at=event.occurred_at)
    return case.model_copy(update={"outbox": (*case.outbox, owed)})
