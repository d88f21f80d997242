"""The dunning tiles from hand-built counters: recovery rate, recovered revenue, lost, declines."""

from __future__ import annotations

from datetime import UTC, date, datetime

from functions.common.tiles import Bar, Bars, Figure, Kpi, Line, Series, Table
from functions.tile_builder import builders
from tests.unit.tile_builder.counters import NOW, TODAY, ago, shown, tally


def test_recovery_rate_is_recovered_over_closed_cases_in_30_days_by_count() -> None:
    """3 recovered, 1 abandoned, 1 canceled in the window: 60.0 %; opened cases and older days left out."""
    days = {
        TODAY: {"EUR/recovered": tally(2, 3000), "USD/recovered": tally(1, 10), "USD/abandoned": tally(1, 50),
                "EUR/opened": tally(10, 9000)},
        ago(29): {"EUR/canceled": tally(1, 700)},
        ago(30): {"EUR/recovered": tally(5, 5000), "EUR/abandoned": tally(9, 1)},
    }  # fmt: skip
    kpi = builders.recovery_rate(days, NOW)
    assert kpi.figure == Figure(value=60.0, display="60.0 %")
    assert kpi.note == "30 days: 3 of 5 closed cases recovered, every currency"
    assert len(kpi.trend) == len(kpi.trend_labels) == 14
    assert kpi.trend_labels[0] == ago(13).isoformat()
    assert kpi.trend_labels[-1] == TODAY.isoformat()
    assert kpi.trend[-1] == Figure(value=75.0, display="75.0 %")  # today: 3 of 4
    assert set(kpi.trend[:-1]) == {Figure(value=None, display="—")}  # no closed case on those days


def test_recovery_rate_rounds_to_one_decimal_and_says_dash_without_a_closed_case() -> None:
    """1 of 3 is 33.3 %; only open cases: no value, "—"."""
    one_of_three = {TODAY: {"EUR/recovered": tally(1, 1), "EUR/abandoned": tally(2, 2)}}
    assert builders.recovery_rate(one_of_three, NOW).figure == Figure(value=33.3, display="33.3 %")
    only_open = builders.recovery_rate({TODAY: {"EUR/opened": tally(4, 400)}}, NOW)
    assert only_open.figure == Figure(value=None, display="—")
    assert builders.recovery_rate({}, NOW) == Kpi(
        figure=Figure(value=None, display="—"), note="30 days: 0 of 0 closed cases recovered, every currency",
        trend=(Figure(value=None, display="—"),) * 14,
        trend_labels=tuple(ago(n).isoformat() for n in range(13, -1, -1)),
    )  # fmt: skip


def test_recovered_revenue_is_each_currencys_recovered_amount_by_month_over_six_months() -> None:
    """July to December; a currency's months without a recovery are 0; June is left out."""
    days = {
        date(2026, 6, 30): {"EUR/recovered": tally(1, 700)},
        date(2026, 7, 1): {"EUR/recovered": tally(1, 1999), "EUR/opened": tally(1, 1999)},
        date(2026, 11, 30): {"USD/recovered": tally(2, 500)},
        TODAY: {"EUR/recovered": tally(1, 1000), "EUR/abandoned": tally(1, 3)},
    }
    series = builders.recovered_revenue(days, NOW)
    assert series.x == ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12")
    eur = [1999, 0, 0, 0, 0, 1000]
    usd = [0, 0, 0, 0, 500, 0]
    assert series == Series(
        x=series.x,
        lines=(
            Line(label="EUR", figures=tuple(Figure(value=m / 100, display=shown(m, "EUR")) for m in eur)),
            Line(label="USD", figures=tuple(Figure(value=m / 100, display=shown(m, "USD")) for m in usd)),
        ),
    )


def test_the_six_months_cross_a_new_year_and_an_amount_keeps_its_currencys_digits() -> None:
    """In February: September to February; 500 JPY is 500 yen, 1234 KWD minor units 1.234 dinars."""
    now = datetime(2027, 2, 10, tzinfo=UTC)
    assert [f"{day:%Y-%m}" for day in builders.month_starts(now.date())] == [
        "2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02",
    ]  # fmt: skip
    days = {date(2026, 9, 1): {"JPY/recovered": tally(1, 500), "KWD/recovered": tally(1, 1234)}}
    lines = {line.label: line.figures[0] for line in builders.recovered_revenue(days, now).lines}
    assert lines == {
        "JPY": Figure(value=500.0, display=shown(500, "JPY")),
        "KWD": Figure(value=1.234, display=shown(1234, "KWD")),
    }


def test_lost_is_abandoned_plus_canceled_per_currency_over_30_days() -> None:
    """EUR: 2 abandoned (30.00) and 1 canceled (5.00); USD: 1 abandoned; JPY recovered only: no row."""
    days = {
        TODAY: {"EUR/abandoned": tally(1, 1000), "EUR/canceled": tally(1, 500), "JPY/recovered": tally(1, 9)},
        ago(29): {"EUR/abandoned": tally(1, 2000), "USD/abandoned": tally(1, 1000)},
        ago(30): {"EUR/abandoned": tally(7, 7000)},
    }
    assert builders.lost(days, NOW) == Table(
        columns=("Currency", "Abandoned", "Canceled", "Lost", "Cases"),
        rows=(
            ("EUR", shown(3000, "EUR"), shown(500, "EUR"), shown(3500, "EUR"), "3"),
            ("USD", shown(1000, "USD"), shown(0, "USD"), shown(1000, "USD"), "1"),
        ),
    )


def test_declines_by_class_add_every_currency_largest_first() -> None:
    """Soft 3 EUR + 1 USD, hard 2; `charged.declined` is not a class."""
    days = {
        TODAY: {"EUR/declined.soft": tally(3, 30), "EUR/charged.declined": tally(6, 60)},
        ago(10): {"USD/declined.soft": tally(1, 10), "EUR/declined.hard": tally(2, 20)},
        ago(31): {"EUR/declined.fraud": tally(9, 90)},
    }
    assert builders.declines_by_class(days, NOW) == Bars(
        bars=(
            Bar(label="soft", figure=Figure(value=4.0, display="4")),
            Bar(label="hard", figure=Figure(value=2.0, display="2")),
        )
    )


def test_top_decline_reasons_are_the_ten_commonest_codes_with_their_share_of_all() -> None:
    """12 codes: the top 10 by count (then by name), each share of all 17 declines with one decimal."""
    counts = {"insufficient_funds": 5, "do_not_honor": 2, **{f"code_{n:02d}": 1 for n in range(10)}}
    days = {TODAY: {f"EUR/code.{code}": tally(n, n) for code, n in counts.items()}}
    days[ago(3)] = {"USD/code.insufficient_funds": tally(1, 1)}
    table = builders.decline_reasons(days, NOW)
    assert table.columns == ("Decline code", "Declines", "Share")
    assert table.rows == (
        ("insufficient_funds", "6", "33.3 %"),
        ("do_not_honor", "2", "11.1 %"),
        *((f"code_{n:02d}", "1", "5.6 %") for n in range(8)),
    )
