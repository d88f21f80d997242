"""Readable views of cases: a table of many, and the timeline of one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from functions.common import money as amounts
from functions.payment_retry import doubles

if TYPE_CHECKING:
    from collections.abc import Iterable

    from functions.payment_retry.model import Case


def money(amount: int, currency: str) -> str:
    """Minor units with ISO 4217's digits: 1999 EUR is 19.99 EUR, 500 JPY 500 JPY, 500000 HUF 5,000.00 HUF."""
    try:
        value = amounts.to_amount(amount, currency)
    except amounts.UnknownCurrencyError:  # a report shows what state holds, even a code since withdrawn
        return f"{amount:,} minor units {currency}"
    return f"{value:,.{amounts.iso_exponent(currency)}f} {currency}"


def _aware(moment: datetime) -> datetime:
    """`moment` with its offset; a naive time from state is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def utc(moment: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """`moment` in UTC, labelled so: a time kept with the customer's offset is converted, never relabelled."""
    return f"{_aware(moment).astimezone(UTC):{pattern}} UTC"


def local(moment: datetime, zone: str) -> str:
    """`moment` on the wall clock of `zone` (the customer's), or nothing when the zone is unknown."""
    try:
        there = _aware(moment).astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a folder
        return ""
    return f" ({there:%Y-%m-%d %H:%M} {zone})"


def table(cases: Iterable[Case]) -> str:
    """One line per case: id, status, customer, amount, attempts, what is next."""
    cases = list(cases)
    width = max([len("CASE"), *(len(case.case_id) for case in cases)])  # whole ids: an operator copies them
    lines = [f"{'CASE':{width}}  {'STATUS':16}  {'CUSTOMER':20}  {'AMOUNT':>14}  {'TRIES':>5}  NEXT"]
    for case in sorted(cases, key=lambda case: case.failed_at):
        due = case.next_due()
        upcoming = utc(due) if due else "-"
        if case.waiting_for_update and case.is_open:
            upcoming = f"waiting for a new card (gives up {case.give_up_at:%Y-%m-%d})"
        if (flag := doubles.marker(case)) is not None:
            upcoming = flag
        if case.held is not None:
            upcoming = f"held for an operator: {case.held}"
        amount = money(case.amount, case.currency)
        lines.append(
            f"{case.case_id:{width}}  {case.status:16}  {case.customer_id[:20]:20}  {amount:>14}  "
            f"{len(case.attempts):>5}  {upcoming}"
        )
    return "\n".join(lines)


def timeline(case: Case) -> str:
    """Everything that happened to one case, oldest first, with its attempts and pending messages."""
    failed = f"{utc(case.failed_at)}{local(case.failed_at, case.timezone)}"
    lines = [
        (
            f"case {case.case_id}: {case.status}, {money(case.amount, case.currency)} for {case.customer_id}"
            f" <{case.email}>, failed {failed},"
            f" policy {case.policy} v{case.policy_version}, zone {case.timezone}"
        ),
    ]
    for event in case.timeline:
        detail = f" ({event.detail})" if event.detail else ""
        lines.append(f"  {utc(event.at, '%Y-%m-%d %H:%M:%S')}  {event.what}{detail}")
    for attempt in case.attempts:
        code = f" {attempt.decline_code}" if attempt.decline_code else ""
        lines.append(f"  attempt {attempt.number} key {attempt.key}: {attempt.outcome}{code}")
    lines += [f"  owes {item.queue} {item.key} at {utc(item.due_at)}" for item in case.outbox]
    lines.append(f"  sent: {', '.join(case.sent) or 'nothing yet'}")
    return "\n".join(lines)
