"""DunningEvent version 2 over random case lives: whatever happens, in any order, the steps telescope.

A life is a scripted processor (paid, declined, needs the customer, refused, in doubt, busy), what may
happen while the first charge is in flight (a success, an operator's close), then payment events,
operator releases and ticks in any order, some repeated. `check_life` asserts the promises.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bindings.errors import PermanentError
from functions.common.stripe import StripeAnswer
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import AnyEvent
from tests.unit.payment_retry.event_journal import Recorded, check_life
from tests.unit.payment_retry.lives import DECLINED, GARBLED, REFUSED
from tests.unit.payment_retry.test_double_collection import InFlight
from tests.unit.payment_retry.test_event_order import succeeded, updated
from tests.unit.payment_retry.test_processor_errors import NOON, OK, SOFT, _error, failed
from tests.unit.payment_retry.test_release import release
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE

ANSWERS = {
    "paid": OK,
    "declined": DECLINED,
    "customer": AUTHENTICATE,
    "refused": REFUSED,
    "in doubt": GARBLED,
    "no answer": StripeAnswer(503, b"{}"),
    "busy": _error(500, "api_error", "internal"),
}
DAY1 = NOON + timedelta(days=1)
ACTIONS = ("tick", "tick", "tick", "succeeded", "resume", "close", "updated", "failed again")


def _event(action: str, n: int, hours: float) -> AnyEvent | None:
    """The payment event or release of `action`, the `n`-th step, `hours` after the failure."""
    after = timedelta(hours=hours)
    if action == "succeeded":
        return succeeded(f"evt_s{n % 2}", after=after)  # every other one a redelivery
    if action in {"resume", "close"}:
        return release(action, event_id=f"rel_{n}")
    if action == "updated":
        return updated(f"evt_m{n}", after=after)
    return failed(SOFT) if action == "failed again" else None


@settings(max_examples=20, deadline=None)  # a life ticks ~12 days minute by minute: ~0.4 s
@given(
    answers=st.lists(st.sampled_from(sorted(ANSWERS)), min_size=1, max_size=6),
    during=st.sampled_from(["", "succeeded", "succeeded+close"]),
    steps=st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(1, 60)), max_size=14),
)
def test_any_life_publishes_telescoping_steps_and_the_email_before_its_close(
    answers: list[str], during: str, steps: list[tuple[str, int]]
) -> None:
    """One opened at 0, charges 1..k once each, at most one close at k, gauges adding up, whatever happens."""
    processor = InFlight([ANSWERS[name] for name in answers])
    world = Recorded(processor)
    if during:
        processor.during.append(lambda: handle_event(world.dunning, succeeded(), DAY1))
    if during.endswith("close"):
        processor.during.append(lambda: handle_event(world.dunning, release("close"), DAY1))
    handle_event(world.dunning, failed(SOFT), NOON)
    hours = 0.0
    for n, (action, gap) in enumerate([*steps, ("tick", 24 * 12), ("tick", 24)]):
        hours += gap
        now = NOON + timedelta(hours=hours, seconds=5)
        event = _event(action, n, hours)
        if event is None:
            world.tick(now)
            continue
        with contextlib.suppress(PermanentError):  # a release of a case not held, paid after it gave up
            handle_event(world.dunning, event, now)
    life = check_life(world)
    assert life[0] == ("case.opened", 0, None)
