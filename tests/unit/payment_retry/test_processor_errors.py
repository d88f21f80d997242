"""Processor answers through the handlers, over in-memory ports and a scripted processor.

Only a card error is a decline the customer hears about; our own request's faults and answers
nobody can read hold the case for an operator, and a busy processor is asked again later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common import names
from functions.common.stripe import StripeAnswer, StripeRequest
from functions.common.stripe_gateway import StripeGateway
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import OUTBOUND, RETRY_AFTER_ERROR, Dunning
from functions.payment_retry.handlers import handle_event, handle_tick
from functions.payment_retry.model import Case, PaymentFailed, PaymentMethodUpdated

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OK = StripeAnswer(200, json.dumps({"id": "pi_1", "object": "payment_intent", "status": "succeeded"}).encode())


def _error(status: int, kind: str, code: str, **fields: str) -> StripeAnswer:
    """A Stripe-shaped error answer."""
    return StripeAnswer(status, json.dumps({"error": {"type": kind, "code": code, **fields}}).encode())


@dataclass
class Processor:
    """Stripe answering from a script, repeating the last answer; records each idempotency key."""

    answers: list[StripeAnswer]
    keys: list[str] = field(default_factory=list)
    requests: list[StripeRequest] = field(default_factory=list)

    def send(self, request: StripeRequest) -> StripeAnswer:
        """The next scripted answer."""
        self.keys.append(request.header("Idempotency-Key") or "")
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@dataclass
class World:
    """One engine over in-memory state and queues and a scripted processor."""

    processor: Processor
    state: MemoryStateStore = field(default_factory=MemoryStateStore)
    queues: dict[str, MemoryQueue] = field(
        default_factory=lambda: {name: MemoryQueue(name) for name in OUTBOUND}
    )

    @property
    def dunning(self) -> Dunning:
        """The engine as a replica runs it."""
        return Dunning(
            cases=CaseStore(self.state), gateway=StripeGateway(self.processor), queues=self.queues, owner="r1"
        )

    def tick(self, now: datetime) -> None:
        """One tick through the handler, which must not fail."""
        report = handle_tick(self.dunning, now, budget=timedelta(seconds=30))
        assert report.errors == 0, report.failures

    def case(self) -> Case:
        """The one case."""
        case, _ = CaseStore(self.state).get("pay_1")
        assert case is not None
        return case

    def sent(self, queue: str) -> list[Any]:
        """The messages sent on `queue`."""
        return list(self.queues[queue].sent)

    def templates(self) -> list[str]:
        """The email templates requested, in order."""
        return [message.template for message in self.sent(names.EMAIL_REQUESTS_OUT)]


def failed(decline: dict[str, str], *, at: datetime = NOON, tz: str = "UTC") -> PaymentFailed:
    """The payment.failed event of case pay_1."""
    return PaymentFailed.model_validate({
        "type": "payment.failed", "event_id": "evt_1", "payment_id": "pay_1", "customer_id": "cus_1",
        "subscription_id": "sub_1", "email": "cus_1@example.com", "amount": 1999, "currency": "eur",
        "timezone": tz, "failed_at": at.isoformat(), "decline": decline,
    })  # fmt: skip


SOFT = {"code": "card_declined", "decline_code": "insufficient_funds"}
DAYS = (1, 2, 3, 5, 7, 10, 11)  # past the 10-day deadline


def _run(world: World, days: tuple[int, ...] = DAYS) -> None:
    """Open case pay_1 with a soft decline and tick on each of `days` after it."""
    handle_event(world.dunning, failed(SOFT), NOON)
    for day in days:
        world.tick(NOON + timedelta(days=day, seconds=5))


OUR_FAULTS = [
    _error(400, "invalid_request_error", "amount_too_small", param="amount"),
    _error(400, "invalid_request_error", "parameter_invalid_integer", param="amount"),
    _error(404, "invalid_request_error", "resource_missing", param="customer"),
    _error(400, "idempotency_error", "idempotency_key_reused"),
]


@pytest.mark.parametrize("answer", OUR_FAULTS, ids=lambda a: f"{a.status}")
def test_our_own_request_s_fault_never_emails_or_cancels_the_customer(answer: StripeAnswer) -> None:
    """A 400/404/409 refusal holds the case for an operator: no decline, no email, no cancellation."""
    world = World(Processor([answer]))
    _run(world)
    case = world.case()
    assert world.templates() == ["payment_failed"]
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []
    assert world.processor.keys == ["pay_1:1"]
    assert case.held is not None
    assert str(answer.status) in case.held
    assert (case.status, case.next_due()) == ("open", None)
    assert [(a.outcome, a.decline_code) for a in case.attempts] == [("refused", None)]
    assert not [event for event in case.timeline if "declined" in event.what]


@pytest.mark.parametrize(
    "answer",
    [
        _error(409, "invalid_request_error", "idempotency_key_in_use"),
        _error(429, "invalid_request_error", "rate_limit"),
        _error(500, "api_error", "internal"),
    ],
    ids=lambda a: f"{a.status}",
)
def test_a_busy_processor_is_asked_again_with_the_same_key_and_is_no_decline(answer: StripeAnswer) -> None:
    """A key in use, 429 or 5xx: the same attempt is retried five minutes later, nothing is mailed for it."""
    world = World(Processor([answer, OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    first = NOON + timedelta(days=1, seconds=5)
    world.tick(first)
    case = world.case()
    assert ([(a.number, a.outcome) for a in case.attempts], case.next_charge_at) == (
        [(1, "pending")], first + RETRY_AFTER_ERROR,
    )  # fmt: skip
    assert world.templates() == ["payment_failed"]
    world.tick(first + RETRY_AFTER_ERROR + timedelta(seconds=1))
    assert world.processor.keys == ["pay_1:1", "pay_1:1"]
    assert [(a.number, a.outcome) for a in world.case().attempts] == [(1, "succeeded")]
    assert world.templates() == ["payment_failed", "recovered"]


def test_a_processor_that_stays_busy_is_asked_less_and_less_often_with_the_same_key() -> None:
    """Each time the same attempt is put off, the wait doubles from five minutes, up to an hour."""
    world = World(Processor([_error(429, "invalid_request_error", "rate_limit")]))
    handle_event(world.dunning, failed(SOFT), NOON)
    at, waits = NOON + timedelta(days=1, seconds=5), []
    for _ in range(7):
        world.tick(at)
        charge_at = world.case().next_charge_at
        assert charge_at is not None
        waits.append(charge_at - at)
        at = charge_at + timedelta(seconds=1)
    assert [wait // timedelta(minutes=1) for wait in waits] == [5, 10, 20, 40, 60, 60, 60]
    assert set(world.processor.keys) == {"pay_1:1"}
    assert [(a.outcome, a.deferrals) for a in world.case().attempts] == [("pending", 7)]
    assert world.templates() == ["payment_failed"]


@pytest.mark.parametrize(
    "answer",
    [
        StripeAnswer(200, b"<html>gateway</html>"),
        StripeAnswer(200, json.dumps({"id": "ch_1", "status": "pending"}).encode()),
        StripeAnswer(402, b"not json"),
    ],
    ids=["garbled-2xx", "pending-2xx", "garbled-402"],
)
def test_an_answer_nobody_can_read_is_in_doubt_and_held(answer: StripeAnswer) -> None:
    """Money may have moved: the attempt stays pending under its key, and nobody is mailed or cancelled."""
    world = World(Processor([answer]))
    _run(world)
    case = world.case()
    assert case.held is not None
    assert [(a.key, a.outcome) for a in case.attempts] == [("pay_1:1", "pending")]
    assert world.processor.keys == ["pay_1:1"]
    assert world.templates() == ["payment_failed"]
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []


@pytest.mark.parametrize(
    "code", ["revocation_of_authorization", "stop_payment_order", "duplicate_transaction"]
)
def test_a_revoked_authorisation_is_not_charged_again_on_try_again_later(code: str) -> None:
    """Declined on retry 1 with try_again_later advice: the card is never charged again on the schedule."""
    declined = _error(402, "card_error", "card_declined", decline_code=code, advice_code="try_again_later")
    world = World(Processor([declined]))
    _run(world, days=(1, 3, 5, 7))
    assert world.processor.keys == ["pay_1:1"]
    assert world.case().waiting_for_update


def test_a_card_declined_too_often_is_retried_no_sooner_than_a_day_later() -> None:
    """card_decline_rate_limit_exceeded on an immediate retry pushes the next one 24 hours out."""
    limited = _error(402, "card_error", "card_decline_rate_limit_exceeded")
    world = World(Processor([limited, OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    at = NOON + timedelta(days=2, hours=22)
    update = PaymentMethodUpdated(type="payment_method.updated", event_id="evt_u", customer_id="cus_1",
                                  updated_at=at)  # fmt: skip
    handle_event(world.dunning, update, at)
    world.tick(at + timedelta(seconds=5))
    assert world.processor.keys == ["pay_1:1"]
    case = world.case()
    assert case.next_charge_at is not None
    assert case.next_charge_at >= at + timedelta(hours=24)
    world.tick(NOON + timedelta(days=3, seconds=5))
    assert world.processor.keys == ["pay_1:1"]
    world.tick(case.next_charge_at + timedelta(seconds=5))
    assert world.processor.keys == ["pay_1:1", "pay_1:2"]


def test_a_rate_limited_first_failure_waits_a_full_day_across_a_dst_change() -> None:
    """Opened on card_decline_rate_limit_exceeded before spring-forward: the first retry waits 24 h."""
    at = datetime(2026, 3, 28, 11, 0, tzinfo=UTC)  # 12:00 in Paris; "1d" later is only 23 hours
    world = World(Processor([OK]))
    handle_event(
        world.dunning, failed({"code": "card_decline_rate_limit_exceeded"}, at=at, tz="Europe/Paris"), at
    )
    next_charge_at = world.case().next_charge_at
    assert next_charge_at is not None
    assert next_charge_at >= at + timedelta(hours=24)
