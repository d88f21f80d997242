"""The tiles' numbers and their text, and the sums over days the builders take them from (pure).

Money is shown as emails show it (`money.format_money` in `LOCALE`, ISO 4217's digits: `€1,234.00`),
with its value in major units; a count as an integer (`42`); a rate as a percentage with one decimal
(`12.5 %`), or `—` when there is nothing to divide by; a duration in whole hours as days and hours
(`2 d 5 h`, `7 h`, `under 1 h`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Final

from functions.common import aggregates, money
from functions.common.aggregates import ZERO, Tally
from functions.common.tiles import Bar, Bars, Figure

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import date

    from functions.common.aggregates import Level

    Days = Mapping[date, Mapping[str, Tally]]  # one topic's tallies by UTC day
    Gauges = Mapping[str, Level]  # one topic's all-time levels (`aggregates.levels`)

LOCALE: Final = "en"  # the locale figures are written in
NONE: Final = "—"  # the text of a rate with nothing to divide by
WINDOW: Final = 30  # days of the KPIs, breakdowns and tables
TREND: Final = 14  # days of a KPI's trend and of the daily series
CLOSED: Final = ("recovered", "abandoned", "canceled")  # a case's ends; an open case has none yet


def count(number: int) -> Figure:
    """A count: `42`."""
    return Figure(value=float(number), display=str(number))


def rate(part: int, whole: int) -> Figure:
    """`part` of `whole` as a percentage with one decimal (`12.5 %`); no value and `—` when `whole` is 0."""
    if whole == 0:
        return Figure(value=None, display=NONE)
    value = round(100 * part / whole, 1)
    return Figure(value=value, display=f"{value:.1f} %")


def hours(whole: int | None, *, capped: bool = False) -> Figure:
    """A duration in whole hours: `under 1 h`, `7 h`, `2 d 5 h` (`… or more` when `capped`); None: `—`."""
    if whole is None:
        return Figure(value=None, display=NONE)
    days, left = divmod(whole, 24)
    text = "under 1 h" if whole == 0 else f"{days} d {left} h" if days else f"{left} h"
    return Figure(value=float(whole), display=f"{text} or more" if capped else text)


def amount(minor: int, currency: str) -> Figure:
    """`minor` units of `currency` in major units, written as emails write it (`€1,234.00`)."""
    try:
        major = money.to_amount(minor, currency)
    except money.UnknownCurrencyError:  # counted before its code was withdrawn: shown as stored
        return Figure(value=float(minor), display=f"{minor} minor units {currency}")
    return Figure(value=float(major), display=money.format_money(major, currency, LOCALE))


def breakdown(counts: Mapping[str, int], note: str = "") -> Bars:
    """Bars of the counts above 0, largest first (then by label)."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return Bars(bars=tuple(Bar(label=label, figure=count(n)) for label, n in ordered if n), note=note)


def span(last: date, days: int) -> list[date]:
    """The `days` days ending with `last`, oldest first."""
    return [last - timedelta(days=back) for back in range(days - 1, -1, -1)]


def summed(days: Days, over: Iterable[date]) -> dict[str, Tally]:
    """Each dimension's tally added up over the days `over` (a day without counters adds nothing)."""
    return aggregates.added(days.get(day, {}) for day in over)


def by_name(tallies: Mapping[str, Tally], pick: Callable[[str, str], str | None]) -> dict[str, Tally]:
    """Tallies regrouped: `pick(currency, name)` of each `{currency}/{name}` dimension (None: left out)."""
    found: dict[str, Tally] = {}
    for dimension, tally in tallies.items():
        currency, _, name = dimension.partition("/")
        label = pick(currency, name)
        if label is not None:
            found[label] = found.get(label, ZERO).plus(tally)
    return found


def total(tallies: Mapping[str, Tally], name: str) -> Tally:
    """The tallies of `{currency}/{name}` added up over every currency."""
    found = ZERO
    for dimension, tally in tallies.items():
        if dimension.partition("/")[2] == name:
            found = found.plus(tally)
    return found


def ending(name: str, *, prefix: str) -> str | None:
    """What follows `prefix` in `name`, or None when `name` does not start with it."""
    return name.removeprefix(prefix) if name.startswith(prefix) else None
