"""Dunning's domain events: one per effect, from the case's outbox, with deterministic ids."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from bindings.errors import PermanentError, TransientError
from bindings.testing import MemoryPublisher
from functions.common import domain_events, names
from functions.common.domain_events import DunningEvent, TopicQueue
from functions.common.messages import EmailRequested
from functions.common.stripe import StripeAnswer
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import Case
from tests.unit.payment_retry.test_double_collection import _in_flight
from tests.unit.payment_retry.test_event_order import succeeded
from tests.unit.payment_retry.test_processor_errors import (
    NOON,
    OK,
    OUR_FAULTS,
    SOFT,
    Processor,
    World,
    _error,
    failed,
)
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE

DAY1 = NOON + timedelta(days=1, seconds=5)  # the first retry's tick
DECLINED = _error(402, "card_error", "card_declined", decline_code="insufficient_funds")


def published(world: World) -> list[DunningEvent]:
    """The dunning events sent, in order."""
    events = world.sent(domain_events.DUNNING_QUEUE)
    assert all(isinstance(event, DunningEvent) for event in events)
    return events


def kinds(world: World) -> list[tuple[str, str]]:
    """(type, event id) of each event sent."""
    return [(event.type, event.event_id) for event in published(world)]


def opened(processor: Processor) -> World:
    """Case pay_1 opened at noon with a soft decline."""
    world = World(processor)
    handle_event(world.dunning, failed(SOFT), NOON)
    return world


def test_a_new_case_publishes_case_opened_at_once() -> None:
    """case.opened with the case's customer, amount and currency, when it opened, id `{case}:opened`."""
    world = opened(Processor([OK]))
    [event] = published(world)
    assert event.model_dump(exclude_none=True) == {
        "version": 2, "type": "case.opened", "event_id": "pay_1:opened", "case_id": "pay_1",
        "customer_id": "cus_1", "occurred_at": NOON, "amount": 1999, "currency": "EUR",
        "failed_at": NOON, "step": 0,
    }  # fmt: skip
    assert world.case().sent == ("dunning:pay_1:opened", "pay_1:payment_failed:0")


def test_a_paid_retry_publishes_the_charge_then_the_recovery() -> None:
    """attempt.charged (paid, no decline) and case.recovered, at the answer's moment."""
    world = opened(Processor([OK]))
    world.tick(DAY1)
    assert kinds(world) == [
        ("case.opened", "pay_1:opened"),
        ("attempt.charged", "pay_1:attempt:1"),
        ("case.recovered", "pay_1:recovered"),
    ]
    charged, recovered = published(world)[1:]
    assert (charged.attempt, charged.outcome, charged.decline_class, charged.decline_code) == (
        1,
        "paid",
        None,
        None,
    )
    assert (charged.amount, charged.occurred_at, recovered.amount, recovered.occurred_at) == (
        1999,
        DAY1,
        1999,
        DAY1,
    )


def test_a_declined_retry_carries_its_decline_class_and_code() -> None:
    """attempt.charged (declined) names the policy's class (soft) and the code it was classed by."""
    world = opened(Processor([DECLINED, OK]))
    world.tick(DAY1)
    charged = published(world)[-1]
    assert (charged.type, charged.event_id, charged.attempt, charged.outcome) == (
        "attempt.charged", "pay_1:attempt:1", 1, "declined",
    )  # fmt: skip
    assert (charged.decline_class, charged.decline_code, charged.amount) == (
        "soft",
        "insufficient_funds",
        1999,
    )


def test_an_attempt_that_needs_the_customer_says_so() -> None:
    """authentication_required: attempt.charged with outcome needs_customer and its decline."""
    world = opened(Processor([AUTHENTICATE]))
    world.tick(DAY1)
    charged = published(world)[-1]
    assert (charged.outcome, charged.decline_code) == ("needs_customer", "authentication_required")
    assert charged.decline_class is not None


def test_a_case_that_gives_up_publishes_every_charge_and_one_abandonment() -> None:
    """Four declines, then the deadline: four attempt.charged and one case.abandoned, each id once."""
    world = opened(Processor([DECLINED]))
    for day in (1, 2, 3, 5, 7, 10, 11, 12):
        world.tick(NOON + timedelta(days=day, seconds=5))
    assert kinds(world) == [
        ("case.opened", "pay_1:opened"),
        *((("attempt.charged", f"pay_1:attempt:{n}")) for n in (1, 2, 3, 4)),
        ("case.abandoned", "pay_1:abandoned"),
    ]
    assert world.case().outbox == ()


def test_paid_elsewhere_publishes_case_canceled_at_once_and_once() -> None:
    """A payment.succeeded closes the case and publishes case.canceled now; its redelivery adds nothing."""
    world = opened(Processor([OK]))
    handle_event(world.dunning, succeeded(), NOON + timedelta(minutes=5))
    assert kinds(world)[-1] == ("case.canceled", "pay_1:canceled")
    assert published(world)[-1].occurred_at == NOON + timedelta(minutes=5)
    handle_event(world.dunning, succeeded(), NOON + timedelta(minutes=6))
    for day in (1, 2, 11):
        world.tick(NOON + timedelta(days=day, seconds=5))
    assert [kind for kind, _ in kinds(world)] == ["case.opened", "case.canceled"]


def test_a_failure_already_paid_is_opened_and_canceled() -> None:
    """A settlement before its failure: the case is recorded opened and canceled, both published."""
    world = World(Processor([OK]))
    handle_event(world.dunning, succeeded(), NOON)
    handle_event(world.dunning, failed(SOFT), NOON + timedelta(minutes=1))
    assert kinds(world) == [("case.opened", "pay_1:opened"), ("case.canceled", "pay_1:canceled")]
    assert world.templates() == []


def test_redeliveries_and_repeated_ticks_publish_nothing_new() -> None:
    """The same payment.failed again and the same tick again: the same events, sent once each."""
    world = opened(Processor([DECLINED, OK]))
    handle_event(world.dunning, failed(SOFT), NOON + timedelta(minutes=1))
    for _ in range(3):
        world.tick(DAY1)
    world.tick(DAY1 + timedelta(minutes=1))
    ids = [event_id for _, event_id in kinds(world)]
    assert ids == ["pay_1:opened", "pay_1:attempt:1"]
    assert [key for key in world.case().sent if key.startswith("dunning:")] == [f"dunning:{i}" for i in ids]


@pytest.mark.parametrize("answer", [*OUR_FAULTS, StripeAnswer(200, b"<html>gateway</html>")], ids=str)
def test_a_refused_or_in_doubt_attempt_publishes_no_charge(answer: StripeAnswer) -> None:
    """Held for an operator (refused: nothing charged; in doubt: unknown): no attempt.charged, no close."""
    world = opened(Processor([answer]))
    for day in (1, 2, 11):
        world.tick(NOON + timedelta(days=day, seconds=5))
    assert world.case().held is not None
    assert kinds(world) == [("case.opened", "pay_1:opened")]


def test_a_success_while_our_charge_is_declined_publishes_the_decline_then_the_cancel() -> None:
    """The close waits for the charge in flight: declined, then case.canceled, once each."""
    world = _in_flight([DECLINED])
    assert [kind for kind, _ in kinds(world)] == ["case.opened", "attempt.charged", "case.canceled"]
    assert published(world)[1].outcome == "declined"


def test_a_success_while_our_charge_is_paid_publishes_the_charge_and_the_cancel() -> None:
    """Double collected: our paid charge and the cancel by the other payment; no recovery."""
    world = _in_flight([OK])
    assert world.case().status == "double_collected"
    assert [(event.type, event.outcome) for event in published(world)] == [
        ("case.opened", None), ("attempt.charged", "paid"), ("case.canceled", None),
    ]  # fmt: skip


def test_a_success_while_our_charge_is_unanswered_publishes_no_close_until_decided() -> None:
    """In doubt after a success closed it: held, so neither a charge nor a cancel is published yet."""
    world = _in_flight([StripeAnswer(503, b"{}"), OK])
    assert world.case().held is not None
    assert kinds(world) == [("case.opened", "pay_1:opened")]


@pytest.mark.parametrize(
    "error",
    [TransientError("pub/sub unavailable"), PermanentError("pubsub domain-events is not found")],
    ids=["broker-down", "component-missing"],
)
def test_a_publish_that_fails_waits_in_the_outbox_without_holding_the_emails(error: Exception) -> None:
    """The broker down or not deployed: the email still goes, the event stays owed, the next tick sends it."""
    publisher = MemoryPublisher()
    world = World(Processor([OK]))
    world.queues[domain_events.DUNNING_QUEUE] = TopicQueue(publisher, domain_events.DUNNING)  # type: ignore[assignment]
    publisher.fail = error
    handle_event(world.dunning, failed(SOFT), NOON)
    assert world.templates() == ["payment_failed"]
    assert [item.key for item in world.case().outbox] == ["dunning:pay_1:opened"]
    world.tick(NOON + timedelta(minutes=1))
    assert publisher.published == []
    publisher.fail = None
    world.tick(NOON + timedelta(minutes=2))
    world.tick(NOON + timedelta(minutes=3))
    [(topic, event_id, event)] = publisher.published
    assert (topic, event_id, getattr(event, "type", None)) == ("dunning", "pay_1:opened", "case.opened")
    assert world.case().outbox == ()


def test_a_case_owing_an_event_is_stored_and_read_back() -> None:
    """The outbox keeps a DunningEvent through JSON; a case stored before events reads as before."""
    world = opened(Processor([OK]))
    world.queues[domain_events.DUNNING_QUEUE].fail = TransientError("down")
    handle_event(world.dunning, succeeded(), NOON + timedelta(minutes=5))
    case = world.case()
    assert isinstance(case.outbox[-1].message, DunningEvent)
    assert Case.model_validate_json(case.model_dump_json()) == case
    older = json.loads(case.model_dump_json()) | {"outbox": [], "sent": ["pay_1:payment_failed:0"]}
    assert Case.model_validate(older).outbox == ()


_OPENED = {  # version 1, as published before version 2: still the contract it is read by
    "version": 1, "type": "case.opened", "event_id": "pay_1:opened", "case_id": "pay_1",
    "customer_id": "cus_1", "occurred_at": NOON.isoformat(), "amount": 1999, "currency": "EUR",
}  # fmt: skip
_CHARGED = _OPENED | {"type": "attempt.charged", "event_id": "pay_1:attempt:2", "attempt": 2}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (_OPENED | {"event_id": "pay_1:recovered"}, "event_id of this case.opened is 'pay_1:opened'"),
        (_OPENED | {"attempt": 1}, "case.opened has no attempt"),
        (_CHARGED, "needs its attempt and outcome"),
        (_CHARGED | {"outcome": "declined"}, "needs its decline_class and decline_code"),
        (_CHARGED | {"outcome": "paid", "decline_class": "soft", "decline_code": "x"}, "paid attempt has no"),
        (_OPENED | {"occurred_at": "2026-03-02T12:00:00"}, "timezone"),
        (_OPENED | {"currency": "eur"}, "currency"),
        (_OPENED | {"amount": 0}, "amount"),
        (_OPENED | {"version": 3}, "version"),
        (_OPENED | {"version": 2}, "version 2 event needs failed_at"),
        (_OPENED | {"extra": 1}, "extra"),
    ],
)
def test_an_inconsistent_event_is_refused_with_the_reason(fields: dict[str, object], reason: str) -> None:
    """Version 1's fields, its id rule and which fields each type has are the contract."""
    with pytest.raises(ValidationError, match=reason):
        DunningEvent.model_validate(fields)


def test_a_topic_queue_publishes_under_the_event_id_and_refuses_a_message_without_one() -> None:
    """The outbox's adapter: the message's own event_id is the CloudEvent id."""
    publisher = MemoryPublisher()
    queue = TopicQueue(publisher, domain_events.DUNNING)
    event = DunningEvent.model_validate(_OPENED)
    queue.send(event)
    assert publisher.published == [("dunning", "pay_1:opened", event)]
    with pytest.raises(TypeError, match="no event_id"):
        queue.send(EmailRequested(request_id="pay_1:x:1", template="x", to="cus_1@example.com"))
    assert f"{names.DOMAIN_EVENTS}/dunning" == domain_events.DUNNING_QUEUE
