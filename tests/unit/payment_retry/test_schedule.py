"""Schedule math: local wall-clock retries across DST, quiet hours for emails, the deadline."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from functions.payment_retry.policy import Policy, load_policy
from functions.payment_retry.schedule import GiveUp, Retry, deadline, next_email_time, next_step, retry_times

DEFAULT = load_policy("default", 1)
PARIS, NEW_YORK, AUCKLAND, KOLKATA = "Europe/Paris", "America/New_York", "Pacific/Auckland", "Asia/Kolkata"
ZONES = [PARIS, NEW_YORK, AUCKLAND, KOLKATA, "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"]
MOMENTS = st.datetimes(  # hypothesis takes naive bounds and attaches the time zone itself
    datetime(2000, 1, 1, tzinfo=UTC).replace(tzinfo=None),
    datetime(2037, 12, 31, tzinfo=UTC).replace(tzinfo=None),
    timezones=st.just(UTC),
)


def _policy(*offsets: str, deadline: str = "30d", **changes: Any) -> Policy:
    """The default policy with these retry offsets (and a matching email ladder) and deadline."""
    data = DEFAULT.model_dump()
    emails = data["emails"] | {"attempts": ["reminder"] * len(offsets)}
    return Policy.model_validate(
        data | {"retry_offsets": list(offsets), "deadline": deadline, "emails": emails} | changes
    )


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _local(tz: str, *fields: int, fold: int = 0) -> datetime:
    """A datetime in zone `tz` from (year, month, day[, hour[, minute[, second]]])."""
    year, month, day, hour, minute, second = (*fields, 0, 0, 0)[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(tz), fold=fold)


def _wall(moment: datetime, tz: str) -> str:
    """The local wall-clock time of `moment` in `tz`, as 'YYYY-MM-DD HH:MM'."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def test_day_offsets_keep_local_time_across_paris_spring_forward() -> None:
    """10:00 in Paris stays 10:00 after the clocks go forward: the UTC hour moves from 09:00 to 08:00."""
    times = retry_times(DEFAULT, _local(PARIS, 2024, 3, 29, 10), PARIS)
    assert times == (_utc(2024, 3, 30, 9), _utc(2024, 4, 1, 8), _utc(2024, 4, 3, 8), _utc(2024, 4, 5, 8))
    assert all(moment.tzinfo is UTC for moment in times)


def test_non_existent_local_time_moves_to_the_end_of_the_gap() -> None:
    """02:30 does not exist in Paris on 31 March 2024, so attempt 1 is at 03:00 CEST; later ones at 02:30."""
    times = retry_times(DEFAULT, _local(PARIS, 2024, 3, 30, 2, 30), PARIS)
    assert times[:2] == (_utc(2024, 3, 31, 1), _utc(2024, 4, 2, 0, 30))
    assert [_wall(moment, PARIS) for moment in times[:2]] == ["2024-03-31 03:00", "2024-04-02 02:30"]


def test_ambiguous_local_time_takes_the_first_occurrence_in_paris() -> None:
    """02:30 happens twice in Paris on 27 October 2024: the retry takes the first (CEST) one."""
    times = retry_times(DEFAULT, _local(PARIS, 2024, 10, 26, 2, 30), PARIS)
    assert times[:2] == (_utc(2024, 10, 27, 0, 30), _utc(2024, 10, 29, 1, 30))


def test_new_york_spring_forward_and_fall_back() -> None:
    """New York: 02:15 on 10 March 2024 clamps to 03:00 EDT; 01:30 on 3 November is the EDT one."""
    spring = retry_times(DEFAULT, _local(NEW_YORK, 2024, 3, 9, 2, 15), NEW_YORK)
    assert spring[0] == _utc(2024, 3, 10, 7)
    assert _wall(spring[1], NEW_YORK) == "2024-03-12 02:15"
    fall = retry_times(DEFAULT, _local(NEW_YORK, 2024, 11, 2, 1, 30), NEW_YORK)
    assert fall[:2] == (_utc(2024, 11, 3, 5, 30), _utc(2024, 11, 5, 6, 30))


def test_auckland_keeps_local_time_when_utc_date_differs() -> None:
    """Auckland (UTC+12/+13): 14:00 local stays 14:00 across its September DST start."""
    times = retry_times(DEFAULT, _local(AUCKLAND, 2024, 9, 27, 14), AUCKLAND)
    assert times[:2] == (_utc(2024, 9, 28, 2), _utc(2024, 9, 30, 1))
    assert {_wall(moment, AUCKLAND)[-5:] for moment in times} == {"14:00"}


def test_kolkata_half_hour_offset() -> None:
    """Kolkata (UTC+05:30): a failure at 01:30 IST retries at 01:30 IST; its email waits for 08:00 IST."""
    failed_at = _utc(2024, 1, 15, 20)
    assert retry_times(DEFAULT, failed_at, KOLKATA)[0] == _utc(2024, 1, 16, 20)
    assert next_email_time(DEFAULT, failed_at, KOLKATA) == _utc(2024, 1, 16, 2, 30)


def test_hour_offsets_are_elapsed_time() -> None:
    """A 36h offset is 36 real hours even across the spring-forward night (local time moves an hour)."""
    failed_at = _local(PARIS, 2024, 3, 30, 12)
    times = retry_times(_policy("12h", "36h"), failed_at, PARIS)
    assert times == (_utc(2024, 3, 30, 23), _utc(2024, 3, 31, 23))
    assert times[1] - failed_at == timedelta(hours=36)
    assert _wall(times[1], PARIS) == "2024-04-01 01:00"


def test_deadline_is_calendar_days_in_local_time() -> None:
    """The default 10-day deadline lands on the failure's local time even across DST."""
    assert deadline(DEFAULT, _local(PARIS, 2024, 3, 29, 10), PARIS) == _utc(2024, 4, 8, 8)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2024, 6, 12, 23, 30), (2024, 6, 13, 8, 0)),
        ((2024, 6, 12, 3, 0), (2024, 6, 12, 8, 0)),
        ((2024, 6, 12, 21, 0), (2024, 6, 13, 8, 0)),
        ((2024, 6, 12, 7, 59, 59), (2024, 6, 12, 8, 0)),
        ((2024, 6, 12, 8, 0), (2024, 6, 12, 8, 0)),
        ((2024, 6, 12, 20, 59, 59), (2024, 6, 12, 20, 59, 59)),
        ((2024, 6, 12, 12, 0), (2024, 6, 12, 12, 0)),
    ],
)
def test_quiet_hours_wrap_midnight(local: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """21:00-08:00 includes its start and excludes its end; evening emails wait for the next morning."""
    due_at = _local(PARIS, *local)
    assert next_email_time(DEFAULT, due_at, PARIS) == _local(PARIS, *expected)


def test_quiet_hours_end_is_dst_correct() -> None:
    """An email due at 23:00 CET before the clocks go forward goes out at 08:00 CEST (06:00 UTC)."""
    assert next_email_time(DEFAULT, _local(PARIS, 2024, 3, 30, 23), PARIS) == _utc(2024, 3, 31, 6)


@pytest.mark.parametrize(("hour", "expected"), [(13, 14), (14, 14), (11, 11)])
def test_quiet_hours_within_one_day(hour: int, expected: int) -> None:
    """A window that does not wrap (12:00-14:00) holds emails until 14:00 the same day."""
    policy = _policy("1d", quiet_hours={"start": "12:00", "end": "14:00"})
    assert next_email_time(policy, _local(PARIS, 2024, 6, 12, hour), PARIS) == _local(
        PARIS, 2024, 6, 12, expected
    )


def test_quiet_hours_ending_in_a_repeated_hour_never_move_back() -> None:
    """Quiet until 02:30 on the fall-back night: each 02:10 waits for the 02:30 that follows it."""
    policy = _policy("1d", quiet_hours={"start": "21:00", "end": "02:30"})
    first, second = _local(PARIS, 2024, 10, 27, 2, 10), _local(PARIS, 2024, 10, 27, 2, 10, fold=1)
    assert next_email_time(policy, first, PARIS) == _utc(2024, 10, 27, 0, 30)
    assert next_email_time(policy, second, PARIS) == _utc(2024, 10, 27, 1, 30)


def test_quiet_hours_ending_in_the_gap_end_after_it() -> None:
    """Quiet until 02:30 on the spring-forward night, when 02:30 does not exist: emails go at 03:00."""
    policy = _policy("1d", quiet_hours={"start": "21:00", "end": "02:30"})
    assert next_email_time(policy, _local(PARIS, 2024, 3, 31, 1), PARIS) == _utc(2024, 3, 31, 1)


def test_charges_ignore_quiet_hours_but_their_emails_wait() -> None:
    """A retry due at 22:00 local is charged at 22:00; its email goes out at 08:00 the next day."""
    step = next_step(DEFAULT, _local(PARIS, 2024, 6, 12, 22), PARIS, 0, _local(PARIS, 2024, 6, 12, 22))
    assert step == Retry(1, _utc(2024, 6, 13, 20), "reminder", _utc(2024, 6, 14, 6))


def test_next_step_walks_the_email_ladder_then_gives_up_at_the_deadline() -> None:
    """Attempts 1-4 request the ladder's templates; with all made, the case is cancelled at the deadline."""
    failed_at = _utc(2024, 6, 12, 10)
    steps = [next_step(DEFAULT, failed_at, PARIS, made, failed_at) for made in range(6)]
    assert [step.email for step in steps] == [*DEFAULT.emails.attempts, "canceled", "canceled"]
    assert [step.attempt for step in steps if isinstance(step, Retry)] == [1, 2, 3, 4]
    assert steps[4] == GiveUp(_utc(2024, 6, 22, 10), "cancel", "exhausted", "canceled", _utc(2024, 6, 22, 10))


def test_deadline_cuts_off_a_later_attempt() -> None:
    """A 120h deadline comes an hour before the 5-day retry across fall-back, so the case gives up."""
    policy = _policy("1d", "3d", "5d", deadline="120h")
    failed_at = _local(PARIS, 2024, 10, 22, 12)
    assert retry_times(policy, failed_at, PARIS)[2] == _utc(2024, 10, 27, 11)
    step = next_step(policy, failed_at, PARIS, 2, _utc(2024, 10, 25, 11))
    assert step == GiveUp(_utc(2024, 10, 27, 10), "cancel", "deadline", "canceled", _utc(2024, 10, 27, 10))


def test_overdue_steps_are_due_now() -> None:
    """After an outage a missed attempt is due at once; past the deadline the case gives up at once."""
    failed_at = _utc(2024, 6, 12, 10)
    late = _utc(2024, 6, 16, 12)
    assert next_step(DEFAULT, failed_at, PARIS, 1, late) == Retry(2, late, "update_card", late)
    too_late = _utc(2024, 6, 30, 23)
    give_up = next_step(DEFAULT, failed_at, PARIS, 1, too_late)
    assert isinstance(give_up, GiveUp)
    assert (give_up.at, give_up.reason, give_up.email_at) == (too_late, "deadline", _utc(2024, 7, 1, 6))


def test_naive_datetimes_unknown_zones_and_negative_attempts_are_rejected() -> None:
    """Naive datetimes, unknown IANA zones and a negative attempt count raise ValueError."""
    aware = _utc(2024, 6, 12, 10)
    naive = aware.replace(tzinfo=None)
    with pytest.raises(ValueError, match="failed_at must be timezone-aware"):
        retry_times(DEFAULT, naive, PARIS)
    with pytest.raises(ValueError, match="failed_at must be timezone-aware"):
        deadline(DEFAULT, naive, PARIS)
    with pytest.raises(ValueError, match="due_at must be timezone-aware"):
        next_email_time(DEFAULT, naive, PARIS)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        next_step(DEFAULT, aware, PARIS, 0, naive)
    with pytest.raises(ValueError, match="unknown IANA time zone 'Mars/Olympus'"):
        retry_times(DEFAULT, aware, "Mars/Olympus")
    with pytest.raises(ValueError, match="cannot be negative"):
        next_step(DEFAULT, aware, PARIS, -1, aware)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether the naive local time `wall` happens in `zone` (it does not inside a DST gap)."""
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@given(
    days=st.lists(st.integers(1, 60), min_size=1, max_size=8, unique=True).map(sorted),
    failed_at=MOMENTS,
    tz=st.sampled_from(ZONES),
)
def test_day_offsets_increase_and_keep_local_time(days: list[int], failed_at: datetime, tz: str) -> None:
    """Day retries strictly increase and land on the failure's local time whenever it exists."""
    zone = ZoneInfo(tz)
    times = retry_times(_policy(*(f"{day}d" for day in days), deadline="60d"), failed_at, tz)
    assert all(before < after for before, after in itertools.pairwise((failed_at, *times)))
    for day, due in zip(days, times, strict=True):
        wall = failed_at.astimezone(zone).replace(tzinfo=None) + timedelta(days=day)
        local = due.astimezone(zone)
        if _exists(wall, zone):
            assert (local.replace(tzinfo=None), local.fold) == (wall, 0)
        else:
            assert wall < local.replace(tzinfo=None) <= wall + timedelta(hours=1)


def _accepted(*offsets: str) -> Policy | None:
    """The default policy with these offsets, or None when validation rejects them."""
    try:
        return _policy(*offsets, deadline="80d")
    except ValueError:
        return None


@given(
    offsets=st.lists(st.tuples(st.integers(1, 72), st.sampled_from("dhm")), min_size=1, max_size=8),
    failed_at=MOMENTS,
    tz=st.sampled_from(ZONES),
)
def test_valid_mixed_offsets_always_increase(
    offsets: list[tuple[int, str]], failed_at: datetime, tz: str
) -> None:
    """Any offsets the policy accepts, mixing days and hours, give strictly increasing retry times."""
    policy = _accepted(*(f"{amount}{unit}" for amount, unit in offsets))
    assume(policy is not None)
    assert policy is not None
    times = retry_times(policy, failed_at, tz)
    assert all(before < after for before, after in itertools.pairwise((failed_at, *times)))


@given(due_at=MOMENTS, tz=st.sampled_from(ZONES))
def test_emails_never_go_out_in_quiet_hours_nor_early(due_at: datetime, tz: str) -> None:
    """An email time is never before its due time, never a day later, and never inside 21:00-08:00."""
    sent = next_email_time(DEFAULT, due_at, tz)
    clock = sent.astimezone(ZoneInfo(tz)).time()
    assert due_at <= sent < due_at + timedelta(hours=12)
    assert DEFAULT.quiet_hours.end <= clock < DEFAULT.quiet_hours.start
