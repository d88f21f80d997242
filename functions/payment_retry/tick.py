"""One retry tick: read the due index from the cursor to now, settle what is due, advance the cursor.

A tick never scans all cases: it reads the index minutes after the cursor (catching up minutes
missed while no replica ran, `READ_AHEAD` minutes a read) and only the cases listed there. It
stops claiming once its time budget is spent, shorter than the cron interval, so ticks do not pile
up. A minute becomes settled, and the cursor may pass it, only when every case listed in it owes
nothing more and the minute is at least `SETTLE_LAG` old (replica clocks differ a little, and an
indexer may still be writing it).
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from functions.payment_retry.cases import minute_of, minutes_after

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from functions.payment_retry.cases import CaseStore
    from functions.payment_retry.dunning import Dunning

_log = logging.getLogger(__name__)
SETTLE_LAG = timedelta(minutes=2)
READ_AHEAD = 60  # minutes of the due index one read fetches: a quiet minute is one call, a lost hour one too


@dataclass
class TickReport:
    """What a tick did."""

    minutes: int = 0
    seen: int = 0
    settled: int = 0
    deferred: int = 0
    errors: int = 0
    out_of_budget: bool = False
    cursor: datetime | None = None
    failures: list[str] = field(default_factory=list)


def run_tick(
    dunning: Dunning, now: datetime, *, budget: timedelta, monotonic: Callable[[], float] = time.monotonic
) -> TickReport:
    """Settle the cases due by `now` within `budget`; return what happened."""
    report = TickReport()
    deadline = monotonic() + budget.total_seconds()
    cases = dunning.cases
    cursor = cases.cursor()
    if cursor is None:
        cases.start_cursor(now)
        cursor = minute_of(now) - timedelta(minutes=1)
    settled_through, contiguous = cursor, True
    held: dict[datetime, list[str]] = {}  # the index keys each minute read holds
    settle_limit = minute_of(now) - SETTLE_LAG  # the newest minute the cursor may pass
    rng = random.Random(dunning.owner)  # noqa: S311 - spreads replicas over the list, not security
    for minute, ids, keys in _indexed(cases, cursor, now):
        if monotonic() >= deadline:
            report.out_of_budget = True
            break
        report.minutes += 1
        if keys:
            held[minute] = keys
        rng.shuffle(ids)
        complete = True
        for case_id in ids:
            if monotonic() >= deadline:
                report.out_of_budget, complete = True, False
                break
            report.seen += 1
            complete = _settle(dunning, case_id, now, report) and complete
        contiguous = contiguous and complete
        if contiguous and minute <= settle_limit:
            settled_through = minute
    if settled_through > cursor:
        cases.advance_cursor(settled_through)
        cases.forget([key for minute, keys in held.items() if minute <= settled_through for key in keys])
    report.cursor = max(settled_through, cursor)
    return report


def _indexed(
    cases: CaseStore, cursor: datetime, now: datetime
) -> Iterator[tuple[datetime, list[str], list[str]]]:
    """Each minute after `cursor` up to `now` with its case ids and index keys, `READ_AHEAD` a read."""
    minutes = minutes_after(cursor, now)
    while window := list(itertools.islice(minutes, READ_AHEAD)):
        for minute, (ids, keys) in zip(window, cases.due(window), strict=True):
            yield minute, ids, keys


def _settle(dunning: Dunning, case_id: str, now: datetime, report: TickReport) -> bool:
    try:
        settled = dunning.settle(case_id, now)
    except Exception as error:  # noqa: BLE001 - one broken case must not stop the tick for the others
        _log.exception("case %s could not be settled", case_id)
        report.errors += 1
        report.failures.append(f"{case_id}: {error}")
        return False
    if settled:
        report.settled += 1
    else:
        report.deferred += 1
    return settled
