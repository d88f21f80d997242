"""Case lives for the version 2 event tests: one case, pay_1, through the handlers to a given end.

Each builder returns a `Recorded` world (a journal of every send) for `event_journal.check_life`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bindings.errors import TransientError
from functions.common import domain_events
from functions.common.stripe import StripeAnswer
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import AnyEvent, PaymentFailed
from tests.unit.payment_retry.event_journal import Recorded
from tests.unit.payment_retry.test_double_collection import InFlight
from tests.unit.payment_retry.test_event_order import succeeded, updated
from tests.unit.payment_retry.test_processor_errors import (
    NOON,
    OK,
    OUR_FAULTS,
    SOFT,
    Processor,
    _error,
    failed,
)
from tests.unit.payment_retry.test_release import release
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE

DECLINED = _error(402, "card_error", "card_declined", decline_code="insufficient_funds")
GARBLED = StripeAnswer(200, b"<html>gateway</html>")  # an answer nobody can read: in doubt
REFUSED = OUR_FAULTS[0]


def day(n: float, seconds: int = 5) -> datetime:
    """`n` days after the noon failure, a few seconds into the tick's minute."""
    return NOON + timedelta(days=n, seconds=seconds)


def ticks(world: Recorded, *days: float) -> Recorded:
    """Tick `world` on each of `days`."""
    for n in days:
        world.tick(day(n))
    return world


def opened(answers: list[StripeAnswer], event: PaymentFailed | None = None) -> Recorded:
    """Case pay_1 opened at noon with a soft decline (or `event`), the processor answering `answers`."""
    world = Recorded(Processor(answers))
    handle_event(world.dunning, event or failed(SOFT), NOON)
    return world


def in_flight(
    answers: list[StripeAnswer], *, close: bool = False, event: PaymentFailed | None = None
) -> Recorded:
    """The first retry's charge meets a payment.succeeded (with `close`, an operator's close too)."""
    processor = InFlight(answers)
    world = Recorded(processor)
    processor.during.append(lambda: handle_event(world.dunning, succeeded(), day(1)))
    if close:
        processor.during.append(lambda: handle_event(world.dunning, release("close"), day(1)))
    handle_event(world.dunning, event or failed(SOFT), NOON)
    return ticks(world, 1, 1.5)


def refused_then_resumed() -> Recorded:
    """Attempt 1 refused (held, no event), released: attempt 2 is the case's first answered charge."""
    world = ticks(opened([REFUSED, OK]), 1)
    handle_event(world.dunning, release("resume"), day(1.1))
    return ticks(world, 3)


def in_doubt_then(decision: str) -> Recorded:
    """Attempt 1's answer unreadable (held, pending), then the operator resumes or closes."""
    world = ticks(opened([GARBLED, OK]), 1)
    handle_event(world.dunning, release(decision), day(1.1))
    return ticks(world, 1.2, 3)


def already_paid() -> Recorded:
    """The success arrives before the failure: the case opens closed."""
    world = Recorded(Processor([OK]))
    handle_event(world.dunning, succeeded(), NOON)
    handle_event(world.dunning, failed(SOFT), NOON + timedelta(minutes=1))
    return ticks(world, 1, 11)


def redelivered() -> Recorded:
    """Every payment event twice, every tick twice: one declined charge, one paid, one recovery."""
    world = opened([DECLINED, OK])
    for n in (0.01, 1, 1, 3, 3, 4, 4):
        handle_event(world.dunning, failed(SOFT), day(n))
        world.tick(day(n))
    handle_event(world.dunning, succeeded(), day(5))
    handle_event(world.dunning, succeeded(), day(5))
    return world


def at_night() -> Recorded:
    """Failed at 22:00 (its email waits for 08:00), paid elsewhere at 23:00: the close comes first."""
    night = NOON + timedelta(hours=10)
    world = Recorded(Processor([OK]))
    handle_event(world.dunning, failed(SOFT, at=night), night)
    handle_event(world.dunning, succeeded(after=timedelta(hours=11)), night + timedelta(hours=1))
    world.tick(night + timedelta(hours=10, seconds=5))
    assert world.templates() == ["payment_failed"]  # sent, after the close
    return world


def suppressed() -> Recorded:
    """An address on the suppression list: every email skipped, so no email precedes the recovery."""
    world = Recorded(Processor([DECLINED, OK]), suppressed=frozenset({"cus_1@example.com"}))
    handle_event(world.dunning, failed(SOFT), NOON)
    ticks(world, 1, 3)
    assert world.templates() == []
    return world


def card_updated() -> Recorded:
    """Declined, then a new card: retried at once and paid."""
    world = ticks(opened([DECLINED, OK]), 1)
    handle_event(world.dunning, updated(after=timedelta(days=1, hours=2)), day(1, 7200))
    return ticks(world, 1.1)


def broker_down() -> Recorded:
    """The domain-events topic down while the case opens and charges: its events go later, in order."""
    world = Recorded(Processor([DECLINED, OK]))
    world.queues[domain_events.DUNNING_QUEUE].fail = TransientError("down")
    handle_event(world.dunning, failed(SOFT), NOON)
    ticks(world, 1)
    world.queues[domain_events.DUNNING_QUEUE].fail = None
    return ticks(world, 1.5, 3)


def outage() -> Recorded:
    """No tick for days: the reminder due meanwhile is flushed with the give-up, after it was recorded."""
    world = Recorded(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed(SOFT, tz="Asia/Tokyo"), NOON)  # 21:00 in Tokyo: quiet hours
    ticks(world, 11 / 24, 1)  # the notice at 08:00 in Tokyo; at 21:00 the customer is needed: no reminder yet
    assert [item.key for item in world.case().outbox] == ["pay_1:reminder:1"]
    ticks(world, 13)  # gives up at 21:00 in Tokyo: its own email waits for the morning
    assert world.templates() == ["payment_failed", "reminder"]
    return world


def recovered_then_paid_too() -> Recorded:
    """Double collection after our recovery: no second close."""
    world = ticks(opened([OK]), 1)
    handle_event(world.dunning, succeeded("evt_s2"), day(2))
    assert world.case().status == "double_collected"
    return ticks(world, 3)


def then(world: Recorded, event: AnyEvent, now: datetime) -> Recorded:
    """`event` handled at `now`, then a tick just after."""
    handle_event(world.dunning, event, now)
    return ticks(world, (now - NOON) / timedelta(days=1) + 0.01)
