"""Late failures (issue 15, item 8): overdue attempts and emails are caught up spaced, never in a burst.

A failure reported days late is driven through the handlers tick by tick, as the production cron
would (a tick a minute, and one at every moment the case owes something). The spacings come from the
policy new cases open under; the deadline, quiet hours and a decline's least wait still hold.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from functions.common import names
from functions.common.payments import Decline
from functions.common.stripe import StripeAnswer
from functions.payment_retry.declines import classify
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.policy import latest
from functions.payment_retry.schedule import deadline, next_email_time
from tests.unit.payment_retry.test_processor_errors import SOFT, Processor, World, failed

if TYPE_CHECKING:
    from functions.payment_retry.durations import Offset
    from functions.payment_retry.policy import Policy, Spacing

FAILED_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # New York's clocks go forward on 8 March
TICK = timedelta(minutes=1)  # the production cron
ZONES = ["UTC", "America/New_York", "Asia/Tokyo"]  # Tokyo: noon UTC is 21:00, in quiet hours
# How late the failure arrives: before the deadline, just before it, and past it (10 days).
LATENESS = [
    timedelta(days=2, hours=6),
    timedelta(days=5),
    timedelta(days=7, minutes=1),
    timedelta(days=8, hours=3),
    timedelta(days=9, hours=12),
    timedelta(days=9, hours=23, minutes=59),
    timedelta(days=10, hours=1),
    timedelta(days=12),
    timedelta(days=30),
]


def _declined(code: str, decline_code: str | None = None) -> StripeAnswer:
    """A 402 card error, as Stripe answers a declined charge."""
    extra = f', "decline_code": "{decline_code}"' if decline_code else ""
    body = f'{{"error": {{"type": "card_error", "code": "{code}"{extra}}}}}'
    return StripeAnswer(402, body.encode())


SOFT_ANSWER = _declined("card_declined", "insufficient_funds")


@dataclass
class Run:
    """What a late case did: when each attempt was charged and each email sent, and the final action."""

    attempts: list[datetime]
    emails: list[tuple[datetime, str]]
    gave_up_at: datetime | None


@functools.cache  # each scenario is driven once, for all the tests that judge it
def _drive(late: timedelta, tz: str) -> Run:
    """Deliver a soft-declined failure `late` and drive its case to the end (see `_run`)."""
    return _run(late, tz, SOFT, SOFT_ANSWER)


def _run(late: timedelta, tz: str, decline: dict[str, str], answer: StripeAnswer) -> Run:
    """Deliver a failure `late` after FAILED_AT, then tick every minute something is owed until done."""
    world = World(Processor([answer]))
    now = FAILED_AT + late
    handle_event(world.dunning, failed(decline, at=FAILED_AT, tz=tz), now)
    emails = [(now, template) for template in world.templates()]
    for _ in range(500):
        due = world.case().next_due()
        if due is None:
            break
        now = max(now + TICK, due)
        world.tick(now)
        emails += [(now, template) for template in world.templates()[len(emails) :]]
    else:
        pytest.fail("the case never settled")
    case = world.case()
    actions = world.sent(names.SUBSCRIPTION_ACTIONS_OUT)
    return Run(
        attempts=[attempt.finished_at for attempt in case.attempts if attempt.finished_at is not None],
        emails=emails,
        gave_up_at=actions[0].decided_at if actions else None,
    )


def _apart(earlier: datetime, later: datetime, spacing: Offset, tz: str) -> bool:
    """Whether `later` is at least `spacing` after `earlier`: calendar days on the local clock."""
    if not spacing.calendar:
        return later - earlier >= spacing.nominal
    zone = ZoneInfo(tz)
    wall = (moment.astimezone(zone).replace(tzinfo=None) for moment in (earlier, later))
    return next(wall) + spacing.nominal <= next(wall)


def _spacing() -> tuple[Policy, Spacing]:
    """The policy new cases open under, and its spacing (which it must state)."""
    policy = latest("default")
    assert policy.spacing is not None, f"default v{policy.version} states no spacing"
    return policy, policy.spacing


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("late", LATENESS, ids=str)
def test_a_late_failure_s_attempts_are_spaced_by_the_policy(late: timedelta, tz: str) -> None:
    """Consecutive charges (and the first after the failure) are never closer than spacing.retries."""
    policy, spacing = _spacing()
    run = _drive(late, tz)
    moments = [FAILED_AT, *run.attempts]
    close = [(a, b) for a, b in itertools.pairwise(moments) if not _apart(a, b, spacing.retries, tz)]
    assert close == [], f"attempts closer than {spacing.retries} under default v{policy.version}"


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("late", LATENESS, ids=str)
def test_a_late_failure_s_emails_are_spaced_and_outside_quiet_hours(late: timedelta, tz: str) -> None:
    """Consecutive emails are never closer than spacing.emails, and none goes out in quiet hours."""
    policy, spacing = _spacing()
    run = _drive(late, tz)
    times = [at for at, _ in run.emails]
    close = [(a, b) for a, b in itertools.pairwise(times) if not _apart(a, b, spacing.emails, tz)]
    assert close == [], f"emails closer than {spacing.emails}: {run.emails}"
    assert [at for at in times if next_email_time(policy, at, tz) != at] == []


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("late", LATENESS, ids=str)
def test_a_late_failure_still_honours_the_deadline(late: timedelta, tz: str) -> None:
    """No charge after the deadline; the final action comes at the deadline, or on arrival past it."""
    policy, _ = _spacing()
    end = deadline(policy, FAILED_AT, tz)
    run = _drive(late, tz)
    assert all(at <= end for at in run.attempts)
    assert run.gave_up_at is not None
    assert run.gave_up_at <= max(end, FAILED_AT + late) + TICK
    assert run.emails[-1][1] == policy.emails.on_give_up


@pytest.mark.parametrize("tz", ZONES)
def test_five_days_late_sends_one_catch_up_email_then_resumes_the_ladder(tz: str) -> None:
    """5 days late: one failure notice, the first reminder skipped, then a step a day to the final notice."""
    policy, _ = _spacing()
    run = _drive(timedelta(days=5), tz)
    assert len(run.attempts) == len(policy.retry_offsets)
    ladder = [policy.emails.on_failure, *policy.emails.attempts[1:], policy.emails.on_give_up]
    assert [template for _, template in run.emails] == ladder


@pytest.mark.parametrize("late", [timedelta(days=10, hours=1), timedelta(days=30)], ids=str)
def test_a_failure_reported_past_the_deadline_sends_only_the_give_up_email(late: timedelta) -> None:
    """Past the deadline nothing is charged, and the customer gets one email: the final action's."""
    policy, _ = _spacing()
    run = _drive(late, "UTC")
    assert run.attempts == []
    assert [template for _, template in run.emails] == [policy.emails.on_give_up]


@pytest.mark.parametrize("late", [timedelta(days=2), timedelta(days=5), timedelta(days=9)], ids=str)
def test_a_late_rate_limited_failure_keeps_its_least_wait_between_attempts(late: timedelta) -> None:
    """card_decline_rate_limit_exceeded: attempts stay the decline table's least wait apart too."""
    policy, spacing = _spacing()
    limited = {"code": "card_decline_rate_limit_exceeded"}
    wait = classify(Decline.model_validate(limited), policy).retry_after
    assert wait > timedelta(0)
    run = _run(late, "UTC", limited, _declined("card_decline_rate_limit_exceeded"))
    assert len(run.attempts) >= 2
    moments = [FAILED_AT, *run.attempts]
    for earlier, later in itertools.pairwise(moments):
        assert later - earlier >= wait
        assert _apart(earlier, later, spacing.retries, "UTC")
