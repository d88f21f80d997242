"""The tiles of the cases' progress: at risk, cases by step, time to recover, recoveries by email (pure).

They read what only version 2 dunning events count (functions/aggregator/tallies.py): the gauges of
open cases by currency and step, `{CUR}/open.step.{s}` (all-time levels, `aggregates.levels`), and per
day the closes by step (`{CUR}/{end}.step.{s}`), the recoveries by the whole hours from the payment's
failure (`-/recovered.hours.{h}`) and by the last dunning email before them
(`{CUR}/recovered.after.{template}`, `none` when none had gone). A version 1 event (from before step
tracking began) counts under none of them, so each tile's note says what it covers. Registered in
`builders.BUILDERS`; `GaugeBuilder` is a builder that reads the gauges too.

Choices:
- **at-risk is a table** (Currency, Open cases, At risk), not a KPI: amounts in different currencies do
  not add up, and a KPI of one currency would hide the others (as `lost` does, one row a currency).
- **A negative level is never shown as one.** A gauge is the sum of moves that can be counted out of
  order (a close counted before the opening or charge it follows): a sum below 0 is such a moment, not
  a level. It is shown as 0 marked `PENDING` (the events still on their way will lift it), so an
  operator never reads a negative amount at risk, and sees that the row is not settled yet.
- **The median is the lower median**: with an even number of recoveries, the smaller of the two middle
  ones. The figure is then always a whole number of hours some recovery took, and the last bucket
  (`HOURS_CAP`, "999 h or more") is never averaged with a finite one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from functions.common.aggregates import HOURS_CAP, Level
from functions.common.tiles import Bars, Kpi, Table, TileData
from functions.tile_builder import figures as f
from functions.tile_builder.figures import CLOSED, TREND, WINDOW

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import date, datetime

    from functions.tile_builder.figures import Days, Gauges

PENDING: Final = " (events pending)"  # after a level shown as 0 because its sum is below 0
NO_EMAIL: Final = "no email"  # the bar of recoveries before any dunning email (`recovered.after.none`)
COVERS_CASES: Final = "cases opened since step tracking began"
COVERS_RECOVERIES: Final = "recoveries since step tracking began"
_NIL: Final = Level(count=0, amount=0)


@dataclass(frozen=True)
class GaugeBuilder:
    """A tile that reads its topic's gauges, and its counters by day from `first_day(today)` (None: none)."""

    topic: str
    first_day: Callable[[date], date] | None
    build: Callable[[Days, Gauges, datetime], TileData]


def _step(name: str, prefix: str) -> int | None:
    """The step `s` of a `{prefix}{s}` name; None for any other name."""
    step = f.ending(name, prefix=prefix)
    return int(step) if step is not None and step.isascii() and step.isdigit() else None


def _open(gauges: Gauges) -> dict[tuple[str, int], Level]:
    """The open cases' levels by (currency, step)."""
    found: dict[tuple[str, int], Level] = {}
    for dimension, level in gauges.items():
        currency, _, name = dimension.partition("/")
        step = _step(name, "open.step.")
        if step is not None:
            found[currency, step] = found.get((currency, step), _NIL).plus(level)
    return found


def _count(number: int) -> str:
    return str(number) if number >= 0 else f"0{PENDING}"


def _money(minor: int, currency: str) -> str:
    return f.amount(minor, currency).display if minor >= 0 else f"{f.amount(0, currency).display}{PENDING}"


def at_risk(days: Days, gauges: Gauges, now: datetime) -> Table:
    """Per currency, the open cases (all steps) and their amount; a currency at 0 and 0 left out."""
    del days, now
    by_currency: dict[str, Level] = {}
    for (currency, _), level in _open(gauges).items():
        by_currency[currency] = by_currency.get(currency, _NIL).plus(level)
    rows = tuple(
        (currency, _count(level.count), _money(level.amount, currency))
        for currency, level in sorted(by_currency.items())
        if level != _NIL
    )
    note = f"Open now, every step; {COVERS_CASES}"
    if any(PENDING in cell for row in rows for cell in row):
        note += f". {PENDING.strip()}: a close counted before its opening, shown as 0 until it is"
    return Table(columns=("Currency", "Open cases", "At risk"), rows=rows, note=note)


def cases_by_step(days: Days, gauges: Gauges, now: datetime) -> Table:
    """One row a step: open now (the gauges), and recovered, abandoned, canceled over 30 days, by count."""
    opened: dict[int, int] = {}
    for (_currency, step), level in _open(gauges).items():
        opened[step] = opened.get(step, 0) + level.count
    ended: dict[tuple[int, str], int] = {}
    for dimension, tally in f.summed(days, f.span(now.date(), WINDOW)).items():
        end, dot, at = dimension.partition("/")[2].partition(".step.")
        if dot and end in CLOSED and at.isascii() and at.isdigit():
            ended[int(at), end] = ended.get((int(at), end), 0) + tally.count
    steps = sorted({step for step, n in opened.items() if n} | {step for (step, _), n in ended.items() if n})
    rows = tuple(
        (str(step), _count(opened.get(step, 0)), *(str(ended.get((step, end), 0)) for end in CLOSED))
        for step in steps
    )
    note = f"Step: charges the processor answered. Ends: last {WINDOW} days. Every currency; {COVERS_CASES}"
    return Table(columns=("Step", "Open now", "Recovered", "Abandoned", "Canceled"), rows=rows, note=note)


def lower_median(histogram: Mapping[int, int]) -> int | None:
    """The lower median of values counted by value (`{hours: recoveries}`); None when nothing is counted."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank, seen = (total + 1) // 2, 0  # the lower median's place, from 1
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return None  # not reached: `seen` ends at `total`


def _recovery_hours(days: Days, over: list[date]) -> dict[int, int]:
    found: dict[int, int] = {}
    for dimension, tally in f.summed(days, over).items():
        hours = _step(dimension, "-/recovered.hours.")
        if hours is not None:
            found[hours] = found.get(hours, 0) + tally.count
    return found


def _median(days: Days, over: list[date]) -> tuple[int | None, int]:
    histogram = _recovery_hours(days, over)
    return lower_median(histogram), sum(histogram.values())


def time_to_recover(days: Days, now: datetime) -> Kpi:
    """The median time from failure to recovery over 30 days, in whole hours; the trend day by day."""
    median, recoveries = _median(days, f.span(now.date(), WINDOW))
    trend = f.span(now.date(), TREND)
    return Kpi(
        figure=f.hours(median, capped=median == HOURS_CAP),
        note=f"{WINDOW} days: the median of {recoveries} recoveries, from the failure; {COVERS_RECOVERIES}",
        trend=tuple(f.hours(m, capped=m == HOURS_CAP) for m, _n in (_median(days, [d]) for d in trend)),
        trend_labels=tuple(day.isoformat() for day in trend),
    )


def recoveries_by_email(days: Days, now: datetime) -> Bars:
    """`{CUR}/recovered.after.{template}` counts over 30 days, every currency, largest first."""
    tallies = f.summed(days, f.span(now.date(), WINDOW))
    found = f.by_name(tallies, lambda _cur, name: f.ending(name, prefix="recovered.after."))
    counts = {NO_EMAIL if step == "none" else step: tally.count for step, tally in found.items()}
    note = (
        f"{WINDOW} days: {sum(counts.values())} recoveries by the last dunning email sent before each,"
        f" every currency; {COVERS_RECOVERIES}"
    )
    return f.breakdown(counts, note)
