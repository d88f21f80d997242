"""Payment events in every order, duplicated and conflicting, through the real daprd and the card sandbox.

The in-process matrix (tests/unit/payment_retry/test_event_order.py) judges the handlers over memory
ports; this file sends the same events, as JSON on `payment-events`, to payment-retry behind its own
daprd, and judges by the card sandbox's ledger (charges per payment id) and the case store. Every
scenario has its own payment and customer id, so one stack runs them all at once: each round sends
every scenario's next event, then waits until the queue is drained, each event's effect is in state
and nothing is owed now, so the order sent is the order handled. Then the 1 s ticks run a few times.

Two clocks: `fresh` failures failed two hours ago (the first retry is a day away, as in the in-process
matrix, whose events come minutes apart before any retry is due), `due` failures failed a day and two
hours ago (a soft decline's first retry is due as the case opens, so the tick charges it at once).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common import names
from functions.payment_retry.model import Case
from tests.integration.helpers import midday_zone, read_jsonl
from tests.unit.payment_retry.test_event_order import (
    HARD,
    NO_CASE,
    PAIRS,
    RECOVERED,
    SAME_TYPE,
    SOFT,
    Event,
    Expected,
    _events,
    _expected,
)
from tests.unit.payment_retry.test_processor_errors import NOON
from tooling import deadletters, state_reader
from tooling.sidecar import AppSpec
from tooling.stack import Stack

_log = logging.getLogger(__name__)
RUN = uuid.uuid4().hex[:6]
BASE = {"fresh": timedelta(hours=2), "due": timedelta(days=1, hours=2)}  # how long ago the failure was
ROUND_TIMEOUT = 120.0
WAITING = Expected(0, ("payment_failed",), "open")  # the first retry a day away, or waiting for a new card
DOUBLE = Expected(1, ("payment_failed", "recovered"), "double_collected")


def expected(kinds: list[str], decline: dict[str, str], clock: str) -> Expected:
    """What F (failure), S (success), M (method update) in this delivered order end in, within a minute.

    Our charge happens once the case is chargeable: as it opens when the failure is soft and due, or a
    new card came first; at the next tick when the new card comes later. A success before the failure
    closes the case unpaid; one after our charge is a double collection.
    """
    if "F" not in kinds:
        return NO_CASE
    f = kinds.index("F")
    m = kinds.index("M") if "M" in kinds else None
    charged = f if clock == "due" and decline is SOFT else None
    if m is not None:
        charged = max(f, m) if charged is None else charged
    if "S" in kinds:
        s = kinds.index("S")
        if s < f:
            return Expected(0, (), "canceled")
        return DOUBLE if charged is not None and charged < s else Expected(0, ("payment_failed",), "canceled")
    return RECOVERED if charged is not None else WAITING


@dataclass
class Scenario:
    """One sequence of events for one payment of one customer, and what it must end in."""

    name: str
    clock: str
    events: list[Event]
    expected: Expected
    payment: str = ""
    customer: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # queue message ids, in order


def _scenarios() -> list[Scenario]:
    found: list[Scenario] = []
    for clock in BASE:
        for (kinds, variant), (label, decline) in itertools.product(PAIRS, [("soft", SOFT), ("hard", HARD)]):
            name = f"{clock}-{''.join(kinds)}-{variant.replace(' ', '-')}-{label}"
            found.append(Scenario(name, clock, _events(kinds, decline), expected(kinds, decline, clock)))
        for order in itertools.permutations("FSM"):
            kinds = list(order)
            found.append(Scenario(f"{clock}-{''.join(kinds)}-hard", clock, _events(kinds, HARD),
                                  expected(kinds, HARD, clock)))  # fmt: skip
    for param in SAME_TYPE:
        events, unit = param.values
        assert isinstance(events, list)
        assert isinstance(unit, Expected)
        name = str(param.id)
        # the in-process matrix ticks through the schedule: a lone soft failure is recovered by its
        # first retry, which only the `due` clock reaches within the test
        found.append(Scenario(f"same-{name}", "due" if unit == RECOVERED else "fresh", events, unit))
        if "conflict" in name and unit.held:
            # the first failure recovered before the conflicting one came: refused, noted, never charged
            after = Expected(1, RECOVERED.emails, "recovered", dead_letters=unit.dead_letters)
            found.append(Scenario(f"same-{name}-after-recovery", "due", events, after))
    for number, scenario in enumerate(found):
        scenario.payment = f"pay_{RUN}_{number}"
        scenario.customer = f"cus_ok_{RUN}_{number}"
    return found


SCENARIOS = _scenarios()


def body(event: Event, scenario: Scenario, now: datetime) -> dict[str, Any]:
    """`event` of the in-process matrix as this scenario's JSON: its ids, its clock, a midday zone."""
    data = event.model_dump(mode="json")
    shift = now - BASE[scenario.clock] - NOON
    for moment in ("failed_at", "succeeded_at", "updated_at"):
        if moment in data:
            data[moment] = (datetime.fromisoformat(data[moment]) + shift).isoformat()
    data["event_id"] = f"{data['event_id']}_{scenario.payment}"
    if "payment_id" in data:
        data["payment_id"] = scenario.payment
    if "customer_id" in data:
        data["customer_id"] = scenario.customer
    if data["type"] == "payment.failed":
        data |= {
            "subscription_id": f"sub_{scenario.payment}",
            "email": f"{scenario.payment}@example.com",
            "timezone": midday_zone(now),
        }
    return data


@dataclass(frozen=True)
class Seen:
    """The stack's state, read once."""

    keys: dict[str, bytes]
    letters: dict[str, set[str]]  # body -> message ids dead-lettered

    def case(self, payment: str) -> Case | None:
        """The case of `payment`, if written."""
        value = self.keys.get(f"case:{payment}")
        return Case.model_validate_json(value) if value is not None else None


def read(stack: Stack) -> Seen:
    """Every payment-retry key and every dead letter."""
    database = stack.config.root / "state" / "state.db"
    keys = dict(state_reader.values(database, names.PAYMENT_RETRY, ""))
    letters: dict[str, set[str]] = {}
    for stored in deadletters.records(stack.blob_service(), stack.resources):
        letters.setdefault(stored.record.body.decode(), set()).add(stored.record.message_id or stored.blob)
    return Seen(keys, letters)


def handled(seen: Seen, scenario: Scenario, index: int) -> bool:
    """Whether the scenario's event `index` has its effect: its case, settlement, update or dead letter."""
    data = scenario.bodies[index]
    if scenario.sent[index] in seen.letters.get(json.dumps(data), set()):
        return True
    if data["type"] == "payment.succeeded":
        return f"settled:{scenario.payment}" in seen.keys
    if data["type"] == "payment_method.updated":
        return f"card-update:{scenario.customer}" in seen.keys
    case = seen.case(scenario.payment)
    if case is None:
        return False
    terms = (case.customer_id, case.subscription_id, case.amount, case.currency)
    return terms == (data["customer_id"], data["subscription_id"], data["amount"], data["currency"].upper())


def settled_now(case: Case | None, now: datetime) -> bool:
    """Nothing is owed now: no charge in flight or due, no message due."""
    if case is None:
        return True
    if any(attempt.outcome == "pending" for attempt in case.attempts):
        return False
    if any(item.due_at <= now for item in case.outbox):
        return False
    chargeable = case.is_open and case.held is None and not case.waiting_for_update
    return not (chargeable and case.next_charge_at is not None and case.next_charge_at <= now)


def drained(stack: Stack) -> bool:
    """No message left on `payment-events`, visible or being handled."""
    client = stack.queue_service().get_queue_client("payment-events")
    return client.get_queue_properties().approximate_message_count == 0


def wait_round(stack: Stack, pending: list[tuple[Scenario, int]]) -> None:
    """Until the queue is drained and each event in `pending` took effect with nothing owed now."""
    deadline = time.monotonic() + ROUND_TIMEOUT
    while True:
        now = datetime.now(UTC)
        seen = read(stack)
        late = [
            scenario.name
            for scenario, index in pending
            if not handled(seen, scenario, index) or not settled_now(seen.case(scenario.payment), now)
        ]
        if not late and drained(stack):
            return
        if time.monotonic() > deadline:  # judged per scenario below, where it shows which one
            _log.error("round not settled after %.0fs: %s", ROUND_TIMEOUT, late)
            return
        time.sleep(0.3)


def take_all(stack: Stack, queue: str, key: str) -> list[dict[str, Any]]:
    """Every message on `queue`, taken off it, once per `key` (nothing else reads it in this stack).

    Sending is at least once: a tick and an event handler may both flush a case's outbox before either
    records it sent. Consumers deduplicate on the message's key, so what the customer gets is one each.
    """
    client = stack.queue_service().get_queue_client(queue)
    taken: dict[str, dict[str, Any]] = {}
    while batch := list(
        client.receive_messages(messages_per_page=32, max_messages=32, visibility_timeout=600)
    ):
        for message in batch:
            data = json.loads(message.content)
            taken.setdefault(data[key], data)
            client.delete_message(message)
    return list(taken.values())


@dataclass(frozen=True)
class Observed:
    """What one scenario ended in."""

    outcome: Expected
    amounts: list[tuple[int, str]]  # (amount, currency) of each charge
    refund_reviews: int


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """payment-retry alone, ticking every second with a budget under that."""
    spec = AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "0.8"}
    )
    return stack_factory(apps=[spec], values={"RETRY_TICK_SCHEDULE": "@every 1s"})


@pytest.fixture(scope="module")
def observed(stack: Stack) -> dict[str, Observed]:
    """Send every scenario round by round, let the ticks run, then read ledger, cases and queues."""
    started, now = time.monotonic(), datetime.now(UTC)
    for scenario in SCENARIOS:
        scenario.bodies = [body(event, scenario, now) for event in scenario.events]
    client = stack.queue_service().get_queue_client("payment-events")

    def send(scenario: Scenario, index: int) -> None:
        scenario.sent.append(str(client.send_message(json.dumps(scenario.bodies[index])).id))

    for index in range(max(len(scenario.events) for scenario in SCENARIOS)):
        pending = [(scenario, index) for scenario in SCENARIOS if index < len(scenario.bodies)]
        for scenario, _ in pending:
            send(scenario, index)
        wait_round(stack, pending)
        _log.warning(
            "round %d: %d events handled at %.1fs", index + 1, len(pending), time.monotonic() - started
        )
    time.sleep(3)  # three more ticks: none of them may charge what the events settled
    wait_round(stack, [(scenario, len(scenario.bodies) - 1) for scenario in SCENARIOS])
    seen, ledger = read(stack), read_jsonl(stack.ledger)
    emails, actions = (
        take_all(stack, "email-requests", "request_id"),
        take_all(stack, "subscription-actions", "action_id"),
    )
    results: dict[str, Observed] = {}
    for scenario in SCENARIOS:
        case = seen.case(scenario.payment)
        charges = [line for line in ledger if line["case_id"] == scenario.payment and line["status"] == 200]
        sent = {json.dumps(data) for data in scenario.bodies}
        outcome = Expected(
            charges=len(charges),
            emails=tuple(m["template"] for m in emails if m["data"].get("case_id") == scenario.payment),
            status=case.status if case else None,
            held=case is not None and case.held is not None,
            dead_letters=sum(
                len(ids & set(scenario.sent)) for text, ids in seen.letters.items() if text in sent
            ),
        )
        results[scenario.name] = Observed(
            outcome,
            [(line["amount"], line["currency"]) for line in charges],
            sum(
                1 for m in actions if m.get("case_id") == scenario.payment and m["action"] == "refund_review"
            ),
        )
    _log.warning("%d scenarios observed after %.1fs", len(SCENARIOS), time.monotonic() - started)
    return results


def test_the_table_is_the_in_process_matrix_s_for_every_fresh_pair() -> None:
    """Over pairs (no tick between events there either) this file's table and the unit matrix agree."""
    for kinds, _variant in PAIRS:
        for decline in (SOFT, HARD):
            assert expected(kinds, decline, "fresh") == _expected(kinds, decline), kinds


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])
def test_every_order_duplicate_and_conflict_is_judged_by_the_ledger(
    scenario: Scenario, observed: dict[str, Observed]
) -> None:
    """Charges, emails, status, hold and dead letters as the table says; a double collection is flagged."""
    seen = observed[scenario.name]
    sent = " → ".join(f"{data['type']} {data['event_id']}" for data in scenario.bodies)
    assert seen.outcome == scenario.expected, f"{sent}: got {seen.outcome}, want {scenario.expected}"
    failures = [data for data in scenario.bodies if data["type"] == "payment.failed"]
    if failures:  # only the first failure's terms are ever charged
        first = (failures[0]["amount"], failures[0]["currency"].lower())
        assert all(amount == first for amount in seen.amounts), seen.amounts
    assert seen.refund_reviews == (1 if scenario.expected.status == "double_collected" else 0)
