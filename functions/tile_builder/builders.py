"""Each tile's builder: the aggregator's counters of one topic by day -> the tile's data (pure, no Dapr).

`BUILDERS` maps each tile id of `functions.common.tiles.CATALOGUE` to its `Builder`: the topic it reads,
the first day it needs (from today, UTC) and the function that builds its data at `now`; or to a
`case_builders.GaugeBuilder`, whose function reads the topic's gauges too (the cases' tiles). Windows end
with today (UTC): "30 days" is today and the 29 days before it. docs/architecture.md (*Dashboard
tiles*) says what each one computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Final

from functions.common.aggregates import ZERO
from functions.common.domain_events import DEAD_LETTERS, DOCUMENTS, DUNNING, EMAIL
from functions.common.tiles import Bars, Kpi, Line, Series, Table, TileData
from functions.tile_builder import case_builders
from functions.tile_builder import figures as f
from functions.tile_builder.figures import CLOSED, TREND, WINDOW, breakdown

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from functions.tile_builder.figures import Days

MONTHS: Final = 6  # months of recovered revenue, the current one included
TOP: Final = 10  # decline reasons listed


@dataclass(frozen=True)
class Builder:
    """What a tile reads (a topic, from `first_day(today)` to today) and how it builds its data."""

    topic: str
    first_day: Callable[[date], date]
    build: Callable[[Days, datetime], TileData]


def _days(n: int) -> Callable[[date], date]:
    return lambda today: today - timedelta(days=n - 1)


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months, the current one included, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date((index - back) // 12, (index - back) % 12 + 1, 1) for back in range(months - 1, -1, -1)]


def _closed(days: Days, over: list[date]) -> tuple[int, int]:
    """Cases recovered, and cases closed (recovered, abandoned, canceled), over `over`, every currency."""
    tallies = f.summed(days, over)
    return f.total(tallies, "recovered").count, sum(f.total(tallies, end).count for end in CLOSED)


def recovery_rate(days: Days, now: datetime) -> Kpi:
    """Recovered ÷ (recovered + abandoned + canceled), by count, over 30 days; the trend day by day."""
    recovered, closed = _closed(days, f.span(now.date(), WINDOW))
    trend = f.span(now.date(), TREND)
    note = f"{WINDOW} days: {recovered} of {closed} closed cases recovered, every currency"
    return Kpi(
        figure=f.rate(recovered, closed),
        note=note,
        trend=tuple(f.rate(*_closed(days, [day])) for day in trend),
        trend_labels=tuple(day.isoformat() for day in trend),
    )


def recovered_revenue(days: Days, now: datetime) -> Series:
    """`{CUR}/recovered` amounts by month, one line per currency, over the last 6 months."""
    starts = [*month_starts(now.date()), now.date() + timedelta(days=1)]
    months = [f.span(end - timedelta(days=1), (end - start).days) for start, end in pairwise(starts)]
    sums = [f.by_name(f.summed(days, month), _recovered) for month in months]
    currencies = sorted({currency for month in sums for currency in month})
    return Series(
        x=tuple(f"{start:%Y-%m}" for start in starts[:-1]),
        lines=tuple(
            Line(label=cur, figures=tuple(f.amount(month.get(cur, ZERO).amount, cur) for month in sums))
            for cur in currencies
        ),
    )


def _recovered(currency: str, name: str) -> str | None:
    return currency if name == "recovered" else None


def lost(days: Days, now: datetime) -> Table:
    """Per currency: abandoned and canceled amounts over 30 days, their sum, and the cases."""
    tallies = f.summed(days, f.span(now.date(), WINDOW))
    rows = []
    for cur in sorted({name.partition("/")[0] for name in tallies}):
        abandoned, canceled = tallies.get(f"{cur}/abandoned", ZERO), tallies.get(f"{cur}/canceled", ZERO)
        both = abandoned.plus(canceled)
        if both.count:
            money = (f.amount(t.amount, cur).display for t in (abandoned, canceled, both))
            rows.append((cur, *money, str(both.count)))
    return Table(columns=("Currency", "Abandoned", "Canceled", "Lost", "Cases"), rows=tuple(rows))


def declines_by_class(days: Days, now: datetime) -> Bars:
    """`{CUR}/declined.{class}` counts over 30 days, every currency, by class."""
    tallies = f.summed(days, f.span(now.date(), WINDOW))
    by_class = f.by_name(tallies, lambda _cur, name: f.ending(name, prefix="declined."))
    return breakdown({name: tally.count for name, tally in by_class.items()})


def decline_reasons(days: Days, now: datetime) -> Table:
    """The 10 commonest decline codes (`{CUR}/code.{code}`) over 30 days, and each one's share of all."""
    tallies = f.summed(days, f.span(now.date(), WINDOW))
    found = f.by_name(tallies, lambda _cur, name: f.ending(name, prefix="code."))
    codes = {code: tally.count for code, tally in found.items()}
    total = sum(codes.values())
    top = sorted(codes.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    rows = tuple((code, str(n), f.rate(n, total).display) for code, n in top)
    return Table(columns=("Decline code", "Declines", "Share"), rows=rows)


def emails_by_status(days: Days, now: datetime) -> Bars:
    """`-/{status}` counts over 30 days: sent, suppressed, delivered, bounced, opened, clicked."""
    tallies = f.summed(days, f.span(now.date(), WINDOW))
    statuses = f.by_name(tallies, lambda cur, name: name if cur == "-" and "." not in name else None)
    return breakdown({name: tally.count for name, tally in statuses.items()})


def _bounced(days: Days, over: list[date]) -> tuple[int, int]:
    tallies = f.summed(days, over)
    return tallies.get("-/bounced", ZERO).count, tallies.get("-/sent", ZERO).count


def bounce_rate(days: Days, now: datetime) -> Kpi:
    """Bounced ÷ sent (`-/bounced`, `-/sent`) over 30 days; the trend day by day."""
    bounced, sent = _bounced(days, f.span(now.date(), WINDOW))
    trend = f.span(now.date(), TREND)
    return Kpi(
        figure=f.rate(bounced, sent),
        note=f"{WINDOW} days: {bounced} bounced of {sent} sent",
        trend=tuple(f.rate(*_bounced(days, [day])) for day in trend),
        trend_labels=tuple(day.isoformat() for day in trend),
    )


def documents_rendered(days: Days, now: datetime) -> Series:
    """Receipts and invoices issued (`{CUR}/rendered.{type}`, every currency) on each of the last 14 days."""
    trend = f.span(now.date(), TREND)
    lines = tuple(
        Line(label=label, figures=tuple(f.count(f.total(days.get(day, {}), name).count) for day in trend))
        for name, label in (("rendered.receipt", "Receipts"), ("rendered.invoice", "Invoices"))
    )
    return Series(x=tuple(day.isoformat() for day in trend), lines=lines)


def dead_letters(days: Days, now: datetime) -> Bars:
    """Dead letters by source in the last 24 hours: today's hours up to now's, yesterday's after it (UTC)."""
    today, hour = now.date(), now.hour
    counts: dict[str, int] = {}
    for day in (today - timedelta(days=1), today):
        for name, tally in days.get(day, {}).items():
            found = _hourly(name)
            if found is not None and (found[1] <= hour if day == today else found[1] > hour):
                counts[found[0]] = counts.get(found[0], 0) + tally.count
    return breakdown(counts)


def _hourly(name: str) -> tuple[str, int] | None:
    """(source, UTC hour) of a `-/source.{source}@{HH}` dimension; None for any other."""
    source, at, hour = (f.ending(name, prefix="-/source.") or "").rpartition("@")
    return (source, int(hour)) if at and source and hour.isdigit() else None


BUILDERS: Final[dict[str, Builder | case_builders.GaugeBuilder]] = {
    "recovery-rate": Builder(DUNNING, _days(WINDOW), recovery_rate),
    "recovered-revenue": Builder(DUNNING, lambda today: month_starts(today)[0], recovered_revenue),
    "at-risk": case_builders.GaugeBuilder(DUNNING, None, case_builders.at_risk),
    "lost": Builder(DUNNING, _days(WINDOW), lost),
    "cases-by-step": case_builders.GaugeBuilder(DUNNING, _days(WINDOW), case_builders.cases_by_step),
    "declines-by-class": Builder(DUNNING, _days(WINDOW), declines_by_class),
    "decline-reasons": Builder(DUNNING, _days(WINDOW), decline_reasons),
    "time-to-recover": Builder(DUNNING, _days(WINDOW), case_builders.time_to_recover),
    "recoveries-by-email": Builder(DUNNING, _days(WINDOW), case_builders.recoveries_by_email),
    "emails-by-status": Builder(EMAIL, _days(WINDOW), emails_by_status),
    "bounce-rate": Builder(EMAIL, _days(WINDOW), bounce_rate),
    "documents-rendered": Builder(DOCUMENTS, _days(TREND), documents_rendered),
    "dead-letters": Builder(DEAD_LETTERS, _days(2), dead_letters),
}
