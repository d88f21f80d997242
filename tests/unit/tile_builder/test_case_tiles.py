"""The cases' tiles from hand-built counters and gauges: at risk, cases by step, time to recover, emails."""

from __future__ import annotations

import pytest

from functions.common.aggregates import Level
from functions.common.tiles import Bar, Bars, Figure, Kpi, Table
from functions.tile_builder import case_builders, figures
from functions.tile_builder.case_builders import PENDING
from tests.unit.tile_builder.counters import NOW, TODAY, ago, shown, tally


def level(count: int, amount: int = 0) -> Level:
    """A gauge's level."""
    return Level(count=count, amount=amount)


def count(n: int) -> Figure:
    """The figure of a count."""
    return Figure(value=float(n), display=str(n))


def test_at_risk_adds_each_currencys_open_steps_and_leaves_out_a_currency_at_zero() -> None:
    """EUR: 2 at step 0 and 1 at step 2 (87.00); JPY's 500 yen keep their digits; CHF at 0 and 0: no row."""
    gauges = {
        "EUR/open.step.0": level(2, 5800), "EUR/open.step.2": level(1, 2900), "EUR/open.step.1": level(0, 0),
        "JPY/open.step.1": level(1, 500),
        "CHF/open.step.0": level(1, 1500), "CHF/open.step.1": level(-1, -1500),
    }  # fmt: skip
    table = case_builders.at_risk({TODAY: {"EUR/opened": tally(9, 9)}}, gauges, NOW)
    assert table.columns == ("Currency", "Open cases", "At risk")
    assert table.rows == (("EUR", "3", shown(8700, "EUR")), ("JPY", "1", shown(500, "JPY")))
    assert case_builders.COVERS_CASES in table.note


def test_at_risk_shows_a_sum_below_zero_as_zero_marked_pending_never_as_a_negative_amount() -> None:
    """USD's close counted before its opening: -1 and -10.00 read 0 and $0.00, each marked pending.

    GBP's count is 0 (one close early, one opening counted) but its amount is not: shown, amount as is.
    """
    gauges = {
        "USD/open.step.1": level(-1, -1000),
        "GBP/open.step.0": level(1, 3000), "GBP/open.step.2": level(-1, -1000),
    }  # fmt: skip
    assert case_builders.at_risk({}, gauges, NOW).rows == (
        ("GBP", "0", shown(2000, "GBP")),
        ("USD", f"0{PENDING}", f"{shown(0, 'USD')}{PENDING}"),
    )
    assert PENDING.strip() in case_builders.at_risk({}, gauges, NOW).note
    settled = case_builders.at_risk({}, {"USD/open.step.0": level(1, 1000)}, NOW)
    assert PENDING.strip() not in settled.note  # said only when a row is pending
    assert case_builders.at_risk({}, {}, NOW).rows == ()


def test_cases_by_step_is_open_now_and_30_days_of_ends_per_step_every_currency() -> None:
    """Steps 0-3 and 12, numerically; the 31st day back, `recovered.after.*` and other dimensions left out."""
    gauges = {
        "EUR/open.step.0": level(2, 200), "USD/open.step.0": level(1, 100), "EUR/open.step.1": level(1, 100),
        "EUR/open.step.3": level(0, 0), "EUR/open.step.12": level(-1, -100), "EUR/opened": level(7, 7),
    }  # fmt: skip
    days = {
        TODAY: {"EUR/recovered.step.1": tally(2, 20), "USD/recovered.step.1": tally(1, 5),
                "EUR/abandoned.step.3": tally(1, 10), "EUR/recovered": tally(3, 25),
                "EUR/recovered.after.reminder": tally(2, 20), "EUR/opened.step.0": tally(4, 4)},
        ago(29): {"EUR/canceled.step.2": tally(1, 1), "EUR/recovered.step.2": tally(1, 1)},
        ago(30): {"EUR/canceled.step.5": tally(8, 8)},
    }  # fmt: skip
    table = case_builders.cases_by_step(days, gauges, NOW)
    assert table == Table(
        columns=("Step", "Open now", "Recovered", "Abandoned", "Canceled"),
        rows=(
            ("0", "3", "0", "0", "0"),
            ("1", "1", "3", "0", "0"),
            ("2", "0", "1", "0", "1"),
            ("3", "0", "0", "1", "0"),
            ("12", f"0{PENDING}", "0", "0", "0"),
        ),
        note=table.note,
    )
    assert case_builders.COVERS_CASES in table.note
    assert "30 days" in table.note


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({5: 0}, None),
        ({7: 1}, 7),
        ({1: 1, 2: 1, 9: 1}, 2),  # odd: the middle one
        ({1: 1, 2: 1, 8: 1, 9: 1}, 2),  # even: the lower of the two middle ones (not 5, their midpoint)
        ({3: 2, 40: 2}, 3),  # even, the middle two in different buckets
        ({0: 3, 999: 3}, 0),
        ({0: 2, 999: 3}, 999),  # odd, in the capped bucket
        ({30: 4, 2: 1}, 30),  # buckets in any order
    ],
)
def test_the_median_of_a_histogram_is_the_lower_median(histogram: dict[int, int], median: int | None) -> None:
    """Odd counts: the middle recovery; even counts: the smaller of the two middle ones."""
    assert case_builders.lower_median(histogram) == median


@pytest.mark.parametrize(
    ("hours", "capped", "display"),
    [
        (0, False, "under 1 h"),
        (1, False, "1 h"),
        (23, False, "23 h"),
        (24, False, "1 d 0 h"),
        (53, False, "2 d 5 h"),
        (999, True, "41 d 15 h or more"),
        (None, False, "—"),
    ],
)
def test_a_duration_is_shown_in_days_and_whole_hours(hours: int | None, capped: bool, display: str) -> None:  # noqa: FBT001
    """Whole hours as `2 d 5 h`, under an hour as `under 1 h`, the cap as `… or more`, nothing as `—`."""
    value = None if hours is None else float(hours)
    assert figures.hours(hours, capped=capped) == Figure(value=value, display=display)


def test_time_to_recover_is_the_median_over_30_days_with_each_days_median_as_its_trend() -> None:
    """Four recoveries in the window (2, 53, 60, 70 h): the lower median 53 h; each day's own median."""
    days = {
        TODAY: {"-/recovered.hours.53": tally(1), "-/recovered.hours.70": tally(1),
                "EUR/recovered": tally(2, 9)},
        ago(13): {"-/recovered.hours.2": tally(1)},
        ago(29): {"-/recovered.hours.60": tally(1)},
        ago(30): {"-/recovered.hours.1": tally(9)},
    }  # fmt: skip
    kpi = case_builders.time_to_recover(days, NOW)
    assert kpi.figure == Figure(value=53.0, display="2 d 5 h")
    assert kpi.note.startswith("30 days: the median of 4 recoveries")
    assert case_builders.COVERS_RECOVERIES in kpi.note
    assert kpi.trend_labels == tuple(ago(n).isoformat() for n in range(13, -1, -1))
    assert kpi.trend[0] == Figure(value=2.0, display="2 h")
    assert kpi.trend[-1] == Figure(value=53.0, display="2 d 5 h")  # today: 53 and 70, the lower
    assert set(kpi.trend[1:-1]) == {Figure(value=None, display="—")}


def test_time_to_recover_says_under_an_hour_or_the_cap_and_a_dash_without_recoveries() -> None:
    """All within the hour: `under 1 h`; most at the cap: `… or more`; none: `—` over 0 recoveries."""
    quick = case_builders.time_to_recover({TODAY: {"-/recovered.hours.0": tally(3)}}, NOW)
    assert quick.figure == Figure(value=0.0, display="under 1 h")
    slow = {TODAY: {"-/recovered.hours.999": tally(2), "-/recovered.hours.5": tally(1)}}
    assert case_builders.time_to_recover(slow, NOW).figure == figures.hours(999, capped=True)
    none = case_builders.time_to_recover({TODAY: {"EUR/recovered": tally(1, 1)}}, NOW)
    assert none.figure == Figure(value=None, display="—")
    assert none.note.startswith("30 days: the median of 0 recoveries")
    assert isinstance(none, Kpi)


def test_recoveries_by_email_count_each_email_step_over_30_days_every_currency_largest_first() -> None:
    """Reminder 3 (EUR 2, USD 1), payment_failed 2, none ("no email") 1; older days, other names left out."""
    days = {
        TODAY: {"EUR/recovered.after.reminder": tally(2, 20), "USD/recovered.after.reminder": tally(1, 5),
                "EUR/recovered.after.none": tally(1, 10), "EUR/recovered": tally(6, 60),
                "EUR/recovered.step.1": tally(3, 30)},
        ago(29): {"EUR/recovered.after.payment_failed": tally(2, 2)},
        ago(30): {"EUR/recovered.after.final_notice": tally(9, 9)},
    }  # fmt: skip
    bars = case_builders.recoveries_by_email(days, NOW)
    assert bars == Bars(
        bars=(
            Bar(label="reminder", figure=count(3)),
            Bar(label="payment_failed", figure=count(2)),
            Bar(label=case_builders.NO_EMAIL, figure=count(1)),
        ),
        note=bars.note,
    )
    assert bars.note.startswith("30 days: 6 recoveries by the last dunning email sent before each")
    assert case_builders.COVERS_RECOVERIES in bars.note


def test_version_1_counters_alone_give_empty_tiles_that_say_what_they_cover() -> None:
    """Only what version 1 events count (no step, hours or email dimensions): empty, each with its note."""
    days = {TODAY: {"EUR/opened": tally(3, 300), "EUR/recovered": tally(2, 200), "EUR/canceled": tally(1)}}
    at_risk, by_step = case_builders.at_risk(days, {}, NOW), case_builders.cases_by_step(days, {}, NOW)
    time, emails = case_builders.time_to_recover(days, NOW), case_builders.recoveries_by_email(days, NOW)
    assert (at_risk.rows, by_step.rows, time.figure.value, emails.bars) == ((), (), None, ())
    assert case_builders.COVERS_CASES in at_risk.note
    assert case_builders.COVERS_CASES in by_step.note
    assert case_builders.COVERS_RECOVERIES in time.note
    assert case_builders.COVERS_RECOVERIES in emails.note
