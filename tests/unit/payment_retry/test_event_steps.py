"""DunningEvent version 2 over whole case lives: steps telescoping for the gauges, the email before a close.

Each scenario runs one case through the handlers (in-memory ports, a scripted processor) and
`check_life` asserts the promises over every event it published; the table also pins the life itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from functions.common import domain_events
from functions.common.stripe import StripeAnswer
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.handlers import handle_event
from tests.unit.payment_retry.event_journal import Life, Recorded, check_life
from tests.unit.payment_retry.lives import (
    DECLINED,
    already_paid,
    at_night,
    broker_down,
    card_updated,
    day,
    in_doubt_then,
    in_flight,
    opened,
    outage,
    recovered_then_paid_too,
    redelivered,
    refused_then_resumed,
    suppressed,
    then,
    ticks,
)
from tests.unit.payment_retry.test_event_order import succeeded
from tests.unit.payment_retry.test_processor_errors import NOON, OK, SOFT, Processor, failed
from tests.unit.payment_retry.test_release import release
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE, PAID_INVOICE, failed_v2

if TYPE_CHECKING:
    from collections.abc import Callable

OPENED, PF = ("case.opened", 0, None), "payment_failed"
C1, C2 = ("attempt.charged", 1, None), ("attempt.charged", 2, None)
TWICE: Life = [OPENED, C1, C2, ("case.recovered", 2, "reminder")]  # declined, then paid after the reminder
SCENARIOS: dict[str, tuple[Callable[[], Recorded], Life]] = {
    "paid at the first retry": (
        lambda: ticks(opened([OK]), 1),
        [OPENED, C1, ("case.recovered", 1, PF)],
    ),
    "declined then paid": (
        lambda: ticks(opened([DECLINED, OK]), 1, 3),
        TWICE,
    ),
    "declined to the deadline": (
        lambda: ticks(opened([DECLINED]), 1, 2, 3, 5, 7, 10, 11),
        [OPENED, *(("attempt.charged", n, None) for n in range(1, 5)), ("case.abandoned", 4, "final_notice")],
    ),
    "needs the customer, then open": (
        lambda: ticks(opened([AUTHENTICATE]), 1, 3),
        [OPENED, C1],
    ),
    "refused, resumed, paid": (refused_then_resumed, [OPENED, C1, ("case.recovered", 1, PF)]),
    "in doubt, resumed, paid": (
        lambda: in_doubt_then("resume"),
        [OPENED, C1, ("case.recovered", 1, PF)],
    ),
    "in doubt, closed by the operator": (lambda: in_doubt_then("close"), [OPENED, ("case.canceled", 0, PF)]),
    "paid elsewhere after a decline": (
        lambda: then(ticks(opened([DECLINED]), 1), succeeded(after=timedelta(days=1, hours=1)), day(1.1)),
        [OPENED, C1, ("case.canceled", 1, "reminder")],
    ),
    "already paid": (already_paid, [OPENED, ("case.canceled", 0, None)]),
    "success while our charge is declined": (
        lambda: in_flight([DECLINED]),
        [OPENED, C1, ("case.canceled", 1, PF)],
    ),
    "success while our charge is paid": (
        lambda: in_flight([OK]),
        [OPENED, C1, ("case.canceled", 1, PF)],
    ),
    "success while our charge is unanswered, then closed": (
        lambda: then(in_flight([StripeAnswer(503, b"{}")]), release("close"), day(1.6)),
        [OPENED, ("case.canceled", 0, PF)],
    ),
    "operator closes while our charge is in flight, then declined": (
        lambda: in_flight([DECLINED], close=True),
        [OPENED, ("case.canceled", 0, PF), ("attempt.charged", None, None)],
    ),
    "operator closes while our invoice payment is in flight, then paid": (
        lambda: in_flight([PAID_INVOICE], close=True, event=failed_v2(invoice="in_7")),
        [OPENED, ("case.canceled", 0, PF), ("attempt.charged", None, None)],
    ),
    "recovered, then paid elsewhere too": (
        recovered_then_paid_too,
        [OPENED, C1, ("case.recovered", 1, PF)],
    ),
    "redelivered events and ticks": (
        redelivered,
        TWICE,
    ),
    "email held by quiet hours": (at_night, [OPENED, ("case.canceled", 0, None)]),
    "every email suppressed": (
        suppressed,
        [OPENED, C1, C2, ("case.recovered", 2, None)],
    ),
    "new card, retried at once": (
        card_updated,
        TWICE,
    ),
    "no tick for days, then the give-up": (outage, [OPENED, C1, ("case.abandoned", 1, PF)]),
    "topic down, then up": (
        broker_down,
        TWICE,
    ),
}


@pytest.mark.parametrize(("scenario", "life"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_life_publishes_telescoping_steps_and_the_email_before_its_close(
    scenario: Callable[[], Recorded], life: Life
) -> None:
    """One opened at 0, charges 1..k once, one close at k after them (a late charge step-less), the email."""
    assert check_life(scenario()) == life


def test_a_case_opened_before_version_2_publishes_failed_at_but_no_step() -> None:
    """A case stored without `stepped`: its charge and close are version 2 with failed_at, step None."""
    world = opened([OK])
    store = CaseStore(world.state)
    case, etag = store.get("pay_1")
    assert case is not None
    store.replace(case.model_copy(update={"stepped": False}), etag)
    ticks(world, 1)
    charged, recovered = world.sent(domain_events.DUNNING_QUEUE)[1:]
    assert [(e.version, e.type, e.failed_at, e.step, e.email_step) for e in (charged, recovered)] == [
        (2, "attempt.charged", NOON, None, None),
        (2, "case.recovered", NOON, None, PF),
    ]


def test_an_email_counts_once_sent_not_while_queued() -> None:
    """A reminder waiting for quiet hours' end is not the close's email_step: the email sent before it is."""
    world = Recorded(Processor([DECLINED]))
    handle_event(world.dunning, failed(SOFT, tz="Asia/Tokyo"), NOON)  # 21:00 in Tokyo: quiet hours
    world.tick(day(0, 11 * 3600 + 5))  # 08:00 in Tokyo: the payment_failed email goes
    world.tick(day(1))  # declined at 21:00 in Tokyo: the reminder waits for the morning
    assert world.templates() == [PF]
    assert [item.key for item in world.case().outbox] == ["pay_1:reminder:1"]
    handle_event(world.dunning, succeeded(after=timedelta(days=1, hours=1)), day(1, 3600))
    world.tick(day(1, 11 * 3600 + 5))
    assert world.templates() == [PF, "reminder"]  # sent after the close all the same
    assert check_life(world) == [OPENED, C1, ("case.canceled", 1, PF)]
