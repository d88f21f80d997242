"""Payment events in every order, duplicated and conflicting, through the handlers over in-memory ports.

Webhooks arrive unordered and more than once. Whatever the order, a settled payment is never charged,
a card update that came first is not forgotten, and failures that disagree are held, never charged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bindings.errors import PermanentError
from functions.common import names
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import PaymentFailed, PaymentMethodUpdated, PaymentSucceeded
from functions.payment_retry.publications import LAST_EMAIL
from tests.unit.payment_retry.test_processor_errors import NOON, OK, Processor, World

Event = PaymentFailed | PaymentSucceeded | PaymentMethodUpdated
SOFT = {"code": "card_declined", "decline_code": "insufficient_funds"}
HARD = {"code": "expired_card"}
TICKS = (timedelta(minutes=10), *(timedelta(days=day, seconds=5) for day in (1, 2, 3, 5, 7, 10, 11)))


def failed(decline: dict[str, str], *, event_id: str = "evt_f1", amount: int = 1999,
           currency: str = "eur") -> PaymentFailed:  # fmt: skip
    """payment.failed for pay_1 of cus_1, failed at noon."""
    return PaymentFailed.model_validate({
        "type": "payment.failed", "event_id": event_id, "payment_id": "pay_1", "customer_id": "cus_1",
        "subscription_id": "sub_1", "email": "cus_1@example.com", "amount": amount, "currency": currency,
        "failed_at": NOON.isoformat(), "decline": decline,
    })  # fmt: skip


def succeeded(event_id: str = "evt_s1", after: timedelta = timedelta(seconds=30)) -> PaymentSucceeded:
    """payment.succeeded for pay_1, settled `after` the failure."""
    return PaymentSucceeded(type="payment.succeeded", event_id=event_id, payment_id="pay_1",
                            succeeded_at=NOON + after)  # fmt: skip


def updated(event_id: str = "evt_m1", after: timedelta = timedelta(seconds=30)) -> PaymentMethodUpdated:
    """payment_method.updated for cus_1, `after` the failure."""
    return PaymentMethodUpdated(type="payment_method.updated", event_id=event_id, customer_id="cus_1",
                                updated_at=NOON + after)  # fmt: skip


@dataclass(frozen=True)
class Expected:
    """What a sequence of events must end in once every tick has run."""

    charges: int
    emails: tuple[str, ...]
    status: str | None  # None: no case at all
    held: bool = False
    dead_letters: int = 0


NO_CASE = Expected(0, (), None)
RECOVERED = Expected(1, ("payment_failed", "recovered"), "recovered")


def _alone(decline: dict[str, str]) -> Expected:
    if decline is SOFT:
        return RECOVERED
    return Expected(0, ("payment_failed", "canceled"), "abandoned")


def _expected(kinds: list[str], decline: dict[str, str]) -> Expected:
    """The outcome of `kinds` (F failure, S success, M method update) whatever their order."""
    if "F" not in kinds:
        return NO_CASE
    if "S" in kinds:
        if "M" in kinds and kinds.index("M") < kinds.index("F") < kinds.index("S"):
            # the new card made the case chargeable as it opened: charged before the success came
            return Expected(1, ("payment_failed", "recovered"), "double_collected")
        emails = ("payment_failed",) if kinds.index("F") < kinds.index("S") else ()
        return Expected(0, emails, "canceled")
    return RECOVERED if "M" in kinds else _alone(decline)


def _events(kinds: list[str], decline: dict[str, str]) -> list[Event]:
    made: dict[str, Callable[[], Event]] = {"F": lambda: failed(decline), "S": succeeded, "M": updated}
    return [made[kind]() for kind in kinds]


def _run(world: World, events: list[Event]) -> int:
    """Handle `events` a minute apart, then tick through the deadline; the number dead-lettered."""
    dead = 0
    for minute, event in enumerate(events, start=1):
        try:
            handle_event(world.dunning, event, NOON + timedelta(minutes=minute))
        except PermanentError:
            dead += 1
    for offset in TICKS:
        world.tick(NOON + offset)
    return dead


def _check(world: World, dead: int, expected: Expected) -> None:
    case, _ = CaseStore(world.state).get("pay_1")
    actual = Expected(
        charges=len(world.processor.keys),
        emails=tuple(world.templates()),
        status=case.status if case else None,
        held=case is not None and case.held is not None,
        dead_letters=dead,
    )
    assert actual == expected


PAIRS = [
    (order, variant)
    for first, second in itertools.permutations("FSM", 2)
    for order, variant in (
        ([first, second], "once"),
        ([first, first, second, second], "each twice"),
        ([first, second, first, second], "interleaved redelivery"),
    )
]


@pytest.mark.parametrize("decline", [SOFT, HARD], ids=["soft", "hard"])
@pytest.mark.parametrize(("kinds", "variant"), PAIRS, ids=[f"{''.join(k)}-{v}" for k, v in PAIRS])
def test_every_pair_of_event_types_ends_the_same_in_either_order(
    kinds: list[str], variant: str, decline: dict[str, str]
) -> None:
    """Two event types in either order, duplicated or not: charges, emails and case state as specified."""
    del variant
    world = World(Processor([OK]))
    dead = _run(world, _events(kinds, decline))
    _check(world, dead, _expected(kinds, decline))


@pytest.mark.parametrize("order", list(itertools.permutations("FSM")), ids="".join)
def test_all_three_event_types_in_any_order_never_charge_a_known_settled_payment(
    order: tuple[str, ...],
) -> None:
    """All three in any order: nothing is charged once the success is known; a later one is flagged."""
    world = World(Processor([OK]))
    dead = _run(world, _events(list(order), HARD))
    _check(world, dead, _expected(list(order), HARD))


SAME_TYPE = [
    pytest.param([failed(SOFT), failed(SOFT)], RECOVERED, id="failed-duplicate"),
    pytest.param([failed(SOFT), failed(SOFT, event_id="evt_f2")], RECOVERED, id="failed-redelivered-new-id"),
    pytest.param(
        [failed(SOFT), failed(SOFT, event_id="evt_f2", amount=2999)],
        Expected(0, ("payment_failed",), "open", held=True, dead_letters=1),
        id="failed-conflict-larger-amount-later",
    ),
    pytest.param(
        [failed(SOFT, amount=2999), failed(SOFT, event_id="evt_f2")],
        Expected(0, ("payment_failed",), "open", held=True, dead_letters=1),
        id="failed-conflict-smaller-amount-later",
    ),
    pytest.param(
        [failed(SOFT), failed(SOFT, event_id="evt_f2", currency="usd")],
        Expected(0, ("payment_failed",), "open", held=True, dead_letters=1),
        id="failed-conflict-currency",
    ),
    pytest.param(
        [failed(SOFT), *[failed(SOFT, event_id="evt_f2", amount=2999)] * 2],
        Expected(0, ("payment_failed",), "open", held=True, dead_letters=2),
        id="failed-conflict-redelivered",
    ),
    pytest.param([succeeded(), succeeded()], NO_CASE, id="succeeded-duplicate"),
    pytest.param([succeeded(), succeeded("evt_s2", timedelta(hours=1))], NO_CASE, id="succeeded-conflict"),
    pytest.param([updated(), updated()], NO_CASE, id="updated-duplicate"),
    pytest.param([updated(), updated("evt_m2", timedelta(hours=1))], NO_CASE, id="updated-conflict"),
    pytest.param(
        [succeeded(), succeeded("evt_s2", timedelta(hours=1)), failed(SOFT)],
        Expected(0, (), "canceled"),
        id="succeeded-conflict-then-failed",
    ),
    pytest.param(
        [updated("evt_m2", timedelta(hours=1)), updated(), failed(HARD)],
        RECOVERED,
        id="updated-conflict-then-failed",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("events", "expected"), SAME_TYPE)
def test_duplicates_change_nothing_and_conflicts_are_held_not_charged(
    events: list[Event], expected: Expected
) -> None:
    """Exact duplicates are ignored; failures that disagree hold the case: no charge, one dead letter each."""
    world = World(Processor([OK]))
    dead = _run(world, events)
    _check(world, dead, expected)


def test_a_settlement_that_came_first_is_on_the_late_failure_s_case() -> None:
    """Success then failure: the case is recorded closed, its timeline says it was paid before it opened."""
    world = World(Processor([OK]))
    _run(world, [succeeded(), failed(SOFT)])
    case = world.case()
    assert (case.status, case.next_due(), case.outbox) == ("canceled", None, ())
    assert case.sent == ("dunning:pay_1:opened", "dunning:pay_1:canceled")  # no email, its two events
    assert [event.what for event in case.timeline] == ["payment failed", "already paid", LAST_EMAIL]
    assert case.timeline[-1].detail == "none"
    assert "evt_s1" in case.timeline[-2].detail


def test_a_settlement_written_while_the_failure_opened_its_case_stops_the_charge() -> None:
    """A success remembered after the case opened (a concurrent delivery) is found before charging."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    CaseStore(world.state).remember_settlement(succeeded(), NOON)
    world.tick(NOON + timedelta(days=1, seconds=5))
    assert world.processor.keys == []
    assert world.case().status == "canceled"


def test_a_conflicting_failure_is_dead_lettered_with_both_versions_and_noted_once() -> None:
    """The refusal names both amounts; the case timeline notes the conflict once per refused event."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    later = failed(SOFT, event_id="evt_f2", amount=2999)
    for _ in range(2):
        with pytest.raises(PermanentError, match=r"evt_f1.*19\.99 EUR.*evt_f2.*29\.99 EUR"):
            handle_event(world.dunning, later, NOON + timedelta(minutes=1))
    case = world.case()
    assert case.held is not None
    assert "29.99 EUR" in case.held
    assert [event.what for event in case.timeline].count("conflicting payment.failed") == 1


def test_a_conflicting_failure_after_recovery_is_noted_and_dead_lettered() -> None:
    """The first amount was already charged: the later one is refused and noted, never charged."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    world.tick(NOON + timedelta(days=1, seconds=5))
    with pytest.raises(PermanentError, match="conflicts"):
        handle_event(world.dunning, failed(SOFT, event_id="evt_f2", amount=2999), NOON + timedelta(days=2))
    world.tick(NOON + timedelta(days=3, seconds=5))
    assert world.processor.keys == ["pay_1:1"]
    assert world.case().timeline[-1].what == "conflicting payment.failed"


@pytest.mark.parametrize("first", ["update", "failure"])
def test_a_card_update_older_than_the_failure_is_not_a_new_card(first: str) -> None:
    """An update at or before failed_at is the card that failed: in either order the case keeps waiting."""
    world = World(Processor([OK]))
    old = updated(after=timedelta(hours=-1))
    events: list[Event] = [old, failed(HARD)] if first == "update" else [failed(HARD), old]
    dead = _run(world, events)
    _check(world, dead, Expected(0, ("payment_failed", "canceled"), "abandoned"))


def test_a_card_update_that_came_first_is_on_the_case_timeline() -> None:
    """Update then hard failure: the case notes the update it applied and charges as it opens."""
    world = World(Processor([OK]))
    handle_event(world.dunning, updated(), NOON + timedelta(minutes=1))
    handle_event(world.dunning, failed(HARD), NOON + timedelta(minutes=2))
    case = world.case()
    assert (case.status, world.processor.keys) == ("recovered", ["pay_1:1"])
    assert [event.what for event in case.timeline[:2]] == ["payment failed", "payment method updated"]
    assert "evt_m1" in case.timeline[1].detail


def test_a_success_after_our_own_recovery_is_flagged_double_collected_not_dead_lettered() -> None:
    """A (redriven) success for a payment we already charged: double_collected, one refund review, acked."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    world.tick(NOON + timedelta(days=1, seconds=5))
    for _ in range(2):
        handle_event(world.dunning, succeeded(), NOON + timedelta(days=2))
    case = world.case()
    assert case.status == "double_collected"
    assert [event.what for event in case.timeline].count("double collected") == 1
    assert world.sent(names.RECEIPT_REQUESTS_OUT)
    assert [m.action for m in world.sent(names.SUBSCRIPTION_ACTIONS_OUT)] == ["refund_review"]


def test_a_success_after_dunning_gave_up_is_noted_and_dead_lettered() -> None:
    """A success for an abandoned case (subscription cancelled) is noted and refused for an operator."""
    world = World(Processor([OK]))
    _run(world, [failed(HARD)])
    with pytest.raises(PermanentError, match="paid after dunning gave up"):
        handle_event(world.dunning, succeeded(), NOON + timedelta(days=12))
    case = world.case()
    assert (case.status, case.timeline[-1].what) == ("abandoned", "paid elsewhere too")
    assert world.processor.keys == []
