"""A dunning campaign on a virtual clock: the real handlers, in-memory state and queues, a card processor.

The clock jumps from one moment to the next — a customer's event or a retry tick every
`tick` — so 30 days of minute ticks take seconds. Everything else is the production code path:
`handle_event` and `handle_tick` over the `Dunning` engine, which charges through the given
`PaymentGateway` (the processor sandbox in `bindery simulate`).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from bindings.clock import VirtualClock
from bindings.errors import PermanentError
from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common import domain_events, names
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import OUTBOUND, Dunning
from functions.payment_retry.handlers import handle_event, handle_tick
from functions.payment_retry.model import AnyEvent, PaymentEvent

if TYPE_CHECKING:
    from collections.abc import Callable

    from functions.common.payments import PaymentGateway
    from tooling.simulation.customers import Customer

_Event = AnyEvent
_EVENT: TypeAdapter[_Event] = TypeAdapter(PaymentEvent)
_NO_BUDGET = timedelta(days=1)  # virtual ticks are never cut short: the campaign is the point


@dataclass
class Outcome:
    """What a campaign did, read back from the cases and the queues."""

    customers: int
    ticks: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    by_profile: dict[str, Counter[str]] = field(default_factory=dict)
    emails: Counter[str] = field(default_factory=Counter)
    charges_per_case: Counter[int] = field(default_factory=Counter)
    charged: dict[str, int] = field(default_factory=dict)  # case id -> attempts that reached a result
    waiting: int = 0  # messages still held at the end (an email waiting for the morning)
    recovered: Counter[str] = field(default_factory=Counter)  # minor units by currency
    receipts: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    published: Counter[str] = field(default_factory=Counter)  # domain events by type
    event_ids: int = 0  # distinct ids among them: one per effect
    rejected: list[str] = field(default_factory=list)
    tick_errors: int = 0


def run(
    customers: list[Customer],
    *,
    start: datetime,
    days: int,
    gateway: PaymentGateway,
    tick: timedelta = timedelta(minutes=1),
    progress: Callable[[float], None] = lambda _: None,
) -> Outcome:
    """Run the campaign from `start` for `days` virtual days; `progress` gets the fraction done."""
    clock = VirtualClock(start)
    queues = {name: MemoryQueue(name) for name in OUTBOUND}
    state = MemoryStateStore()
    dunning = Dunning(cases=CaseStore(state), gateway=gateway, queues=queues, owner="simulator")
    outcome = Outcome(customers=len(customers))
    end = start + timedelta(days=days)
    pending = _events(customers, end)
    next_tick, reported = start + tick, 0.0
    while next_tick <= end:
        if pending and pending[0][0] < next_tick:
            at, _, event = heapq.heappop(pending)
            clock.advance(at - clock.now())
            try:
                handle_event(dunning, event, clock.now())
            except PermanentError as error:
                outcome.rejected.append(str(error))
            continue
        clock.advance(next_tick - clock.now())
        report = handle_tick(dunning, clock.now(), budget=_NO_BUDGET)
        outcome.ticks += 1
        outcome.tick_errors += report.errors
        next_tick += tick
        done = (clock.now() - start) / (end - start)
        if done - reported >= 0.01:  # noqa: PLR2004 - report each percent
            progress(done)
            reported = done
    progress(1.0)
    _tally(outcome, customers, CaseStore(state), queues)
    return outcome


def _events(customers: list[Customer], end: datetime) -> list[tuple[datetime, int, _Event]]:
    planned = [(at, body) for customer in customers for at, body in customer.events() if at <= end]
    # the index breaks ties between events at the same moment in the order they were planned
    kept = [(at, order, _EVENT.validate_python(body)) for order, (at, body) in enumerate(planned)]
    heapq.heapify(kept)
    return kept


def _tally(
    outcome: Outcome, customers: list[Customer], cases: CaseStore, queues: dict[str, MemoryQueue]
) -> None:
    for customer in customers:
        case, _ = cases.get(customer.payment_id)
        status = case.status if case is not None else "not opened"
        outcome.statuses[status] += 1
        outcome.by_profile.setdefault(customer.profile, Counter())[status] += 1
        if case is None:
            continue
        charged = [attempt for attempt in case.attempts if attempt.outcome != "pending"]
        outcome.charges_per_case[len(charged)] += 1
        outcome.charged[case.case_id] = len(charged)
        outcome.waiting += len(case.outbox)
        if case.status == "recovered":
            outcome.recovered[case.currency] += case.amount
    outcome.emails.update(
        getattr(message, "template", "?") for message in queues[names.EMAIL_REQUESTS_OUT].sent
    )
    outcome.receipts = len(queues[names.RECEIPT_REQUESTS_OUT].sent)
    outcome.actions.update(
        getattr(message, "action", "?") for message in queues[names.SUBSCRIPTION_ACTIONS_OUT].sent
    )
    events = queues[domain_events.DUNNING_QUEUE].sent
    outcome.published.update(getattr(message, "type", "?") for message in events)
    outcome.event_ids = len({getattr(message, "event_id", None) for message in events})
