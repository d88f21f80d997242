"""Dunning schedule math: when each retry is due, when the case gives up, when an email may go out.

Pure functions over timezone-aware datetimes (naive ones are a ValueError); every result is in UTC.
A calendar-day offset lands on the failure's local wall-clock time in the customer's zone, so the UTC
hour moves across a DST change while the local time stays. A local time that does not exist (the
spring-forward gap) moves forward to the first instant after the gap; an ambiguous one (fall-back)
takes its first occurrence. Hour and minute offsets are exact elapsed time. Charges ignore quiet
hours; emails wait for their end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from functions.payment_retry.durations import Offset
    from functions.payment_retry.policy import FinalAction, Policy, Template


@dataclass(frozen=True, slots=True)
class Retry:
    """Make charge attempt `attempt` (1-based) at `charge_at` and request `email` at `email_at`."""

    attempt: int
    charge_at: datetime
    email: Template
    email_at: datetime


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Apply the policy's final action at `at`: the retries are spent, or the deadline comes first."""

    at: datetime
    action: FinalAction
    reason: Literal["exhausted", "deadline"]
    email: Template
    email_at: datetime


Step = Retry | GiveUp


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: "Europe" is a folder
        raise ValueError(f"unknown IANA time zone {tz!r}") from error


def _utc(moment: datetime, what: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got the naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _gap_end(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the spring-forward gap between UTC `before` (old offset) and `after`."""
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    new_offset = after.astimezone(zone).utcoffset()
    while high - low > 1:  # zone transitions fall on whole seconds
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _resolve(wall: datetime, zone: ZoneInfo, not_before: datetime | None = None) -> datetime:
    """The UTC instant of the naive local time `wall` in `zone`.

    An ambiguous time takes its first occurrence, or the second when the first is before `not_before`;
    a time in a spring-forward gap becomes the first instant after the gap.
    """
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) != wall:  # in a gap, fold=1 lands before fold=0
        return _gap_end(second, first, zone)
    if not_before is not None and first < not_before:
        return second
    return first


def _after(failed_at: datetime, offset: Offset, zone: ZoneInfo) -> datetime:
    if not offset.calendar:
        return failed_at + offset.nominal
    return _resolve(failed_at.astimezone(zone).replace(tzinfo=None) + offset.nominal, zone)


def retry_times(policy: Policy, failed_at: datetime, tz: str | ZoneInfo) -> tuple[datetime, ...]:
    """Return when each retry attempt is due (UTC), attempt 1 first, for a failure at `failed_at`."""
    zone, failed = _zone(tz), _utc(failed_at, "failed_at")
    return tuple(_after(failed, offset, zone) for offset in policy.retry_offsets)


def deadline(policy: Policy, failed_at: datetime, tz: str | ZoneInfo) -> datetime:
    """Return when the case is abandoned (UTC): no retry is made after this instant."""
    return _after(_utc(failed_at, "failed_at"), policy.deadline, _zone(tz))


def next_email_time(policy: Policy, due_at: datetime, tz: str | ZoneInfo) -> datetime:
    """Return `due_at` (UTC), or the end of quiet hours when it falls in them in the customer's zone.

    Quiet hours include their start and exclude their end, and may wrap midnight.
    """
    zone, due = _zone(tz), _utc(due_at, "due_at")
    local = due.astimezone(zone)
    start, end, clock = policy.quiet_hours.start, policy.quiet_hours.end, local.time()
    wraps = start > end
    quiet = (clock >= start or clock < end) if wraps else start <= clock < end
    if not quiet:
        return due
    day = local.date() + timedelta(days=1) if wraps and clock >= start else local.date()
    return _resolve(datetime.combine(day, end), zone, not_before=due)


def next_step(
    policy: Policy,
    failed_at: datetime,
    tz: str | ZoneInfo,
    attempts_made: int,
    now: datetime,
    *,
    previous: datetime | None = None,
) -> Step:
    """Return what is due next in a case that failed at `failed_at` and has made `attempts_made` retries.

    A step never falls before `now`: one overdue (say after an outage) is due at once. With the
    policy's `spacing`, an attempt is also no sooner than `spacing.retries` after the `previous`
    attempt (or, for the first, after the failure), so overdue attempts are caught up spaced, not back
    to back. An attempt due after the deadline is not made; the case gives up at the deadline instead.
    """
    if attempts_made < 0:
        raise ValueError(f"attempts_made cannot be negative, got {attempts_made}")
    zone, current = _zone(tz), _utc(now, "now")
    times = retry_times(policy, failed_at, zone)
    end = deadline(policy, failed_at, zone)
    reason: Literal["exhausted", "deadline"] = "exhausted"
    if attempts_made < len(times):
        charge_at = max(times[attempts_made], current)
        if policy.spacing is not None:
            since = _utc(failed_at if previous is None else previous, "previous")
            charge_at = max(charge_at, _after(since, policy.spacing.retries, zone))
        if charge_at <= end:
            email = policy.emails.attempts[attempts_made]
            return Retry(attempts_made + 1, charge_at, email, next_email_time(policy, charge_at, zone))
        reason = "deadline"
    at = max(end, current)
    email_at = next_email_time(policy, at, zone)
    return GiveUp(at, policy.final_action, reason, policy.emails.on_give_up, email_at)


def email_time(
    policy: Policy,
    template: str,
    now: datetime,
    tz: str | ZoneInfo,
    *,
    last: datetime | None,
    give_up_at: datetime,
) -> datetime | str:
    """Return when the email `template` queued at `now` goes out (UTC), or why it is skipped.

    Never in quiet hours. With the policy's `spacing` the ladder never bursts: the give-up email goes
    no sooner than `spacing.emails` after the previous email (`last`), never skipped, for the customer
    must learn of the final action; a dunning email (failure notice, reminder) due sooner than that, or
    at or after the deadline `give_up_at` (the give-up email says it all), is skipped. The recovery
    email answers a payment and always goes at once.
    """
    zone = _zone(tz)
    due = next_email_time(policy, now, zone)
    spacing = policy.spacing
    if spacing is None or template == policy.emails.on_recovery:
        return due
    earliest = due
    if last is not None:
        earliest = max(due, next_email_time(policy, _after(_utc(last, "last"), spacing.emails, zone), zone))
    if template == policy.emails.on_give_up:
        return earliest
    if due >= _utc(give_up_at, "give_up_at"):
        return "the case gives up first"
    if due < earliest:
        return f"less than {spacing.emails} after the last email"
    return due
