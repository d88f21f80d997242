"""The policy's spacing in the schedule math: on-time cases keep their schedule, overdue ones are paced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from functions.payment_retry.policy import load_policy
from functions.payment_retry.schedule import GiveUp, Retry, email_time, next_email_time, next_step

V2, V3 = load_policy("default", 2), load_policy("default", 3)
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Pacific/Auckland", "Australia/Lord_Howe"]
MOMENTS = st.datetimes(
    datetime(2020, 1, 1, tzinfo=UTC).replace(tzinfo=None),
    datetime(2036, 12, 31, tzinfo=UTC).replace(tzinfo=None),
    timezones=st.just(UTC),
)
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _on_time(policy_version: int, failed_at: datetime, tz: str, delay: timedelta) -> list[datetime]:
    """Each attempt's time when every attempt is made (and declined) `delay` after it falls due."""
    policy = load_policy("default", policy_version)
    times: list[datetime] = []
    previous: datetime | None = None
    for made in range(len(policy.retry_offsets)):
        step = next_step(policy, failed_at, tz, made, previous or failed_at, previous=previous)
        assert isinstance(step, Retry)
        times.append(step.charge_at)
        previous = step.charge_at + delay
    return times


@given(failed_at=MOMENTS, tz=st.sampled_from(ZONES), delay=st.timedeltas(timedelta(0), timedelta(minutes=5)))
def test_spacing_never_moves_an_on_time_schedule(failed_at: datetime, tz: str, delay: timedelta) -> None:
    """A case ticked on time gets the same attempt times under v3 as under v2, across DST changes."""
    assert _on_time(3, failed_at, tz, delay) == _on_time(2, failed_at, tz, delay)


def test_overdue_attempts_are_spaced_from_the_previous_one() -> None:
    """Five days late: attempt 1 at once, then each a spacing after the previous attempt, not at once."""
    now = NOON + timedelta(days=5)
    assert V3.spacing is not None
    assert next_step(V2, NOON, "UTC", 1, now, previous=now) == Retry(2, now, "update_card", now)  # the burst
    step = next_step(V3, NOON, "UTC", 1, now, previous=now)
    assert isinstance(step, Retry)
    assert step.charge_at == now + V3.spacing.retries.nominal


def test_spacing_never_carries_an_attempt_past_the_deadline() -> None:
    """An attempt the spacing pushes past the deadline is not made: the case gives up at the deadline."""
    now = NOON + timedelta(days=9, hours=12)
    step = next_step(V3, NOON, "UTC", 1, now, previous=now)
    assert step == GiveUp(
        NOON + timedelta(days=10), "cancel", "deadline", "canceled", NOON + timedelta(days=10)
    )


def test_a_reminder_too_soon_after_the_last_email_is_skipped() -> None:
    """Under v3 a reminder due within spacing.emails of the last email is skipped; v2 sends it."""
    assert V3.spacing is not None
    now, end = datetime(2026, 3, 7, tzinfo=UTC), NOON + timedelta(days=10)  # a spacing on is not quiet
    just_after = now + V3.spacing.emails.nominal - timedelta(minutes=1)
    assert isinstance(email_time(V3, "reminder", just_after, "UTC", last=now, give_up_at=end), str)
    assert email_time(V2, "reminder", just_after, "UTC", last=now, give_up_at=end) == just_after
    later = now + V3.spacing.emails.nominal
    assert email_time(V3, "reminder", later, "UTC", last=now, give_up_at=end) == later


def test_the_give_up_email_waits_for_the_spacing_and_quiet_hours_but_is_never_skipped() -> None:
    """The give-up email goes spacing.emails after the last one, then at the end of quiet hours."""
    assert V3.spacing is not None
    last = datetime(2026, 3, 12, 8, tzinfo=UTC)
    end = datetime(2026, 3, 12, 12, tzinfo=UTC)
    expected = next_email_time(V3, last + V3.spacing.emails.nominal, "UTC")
    assert email_time(V3, "canceled", end, "UTC", last=last, give_up_at=end) == expected
    assert expected == datetime(2026, 3, 13, 8, tzinfo=UTC)  # 04:00 is in quiet hours


def test_dunning_emails_at_or_after_the_deadline_are_skipped_but_recovery_is_not() -> None:
    """Past the deadline the failure notice is skipped (the give-up email says it); a recovery email goes."""
    now = NOON + timedelta(days=12)
    assert isinstance(email_time(V3, "payment_failed", now, "UTC", last=None, give_up_at=now), str)
    assert email_time(V3, "recovered", now, "UTC", last=now, give_up_at=now) == now
