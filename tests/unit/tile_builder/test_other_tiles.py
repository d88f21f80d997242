"""The email, document and dead-letter tiles from hand-built counters; every catalogue tile builds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.common.tiles import CATALOGUE, Bar, Bars, Figure, Line, Series, Tile
from functions.tile_builder import builders, refresh
from tests.unit.tile_builder.counters import NOW, TODAY, ago, tally


def count(n: int) -> Figure:
    """The figure of a count."""
    return Figure(value=float(n), display=str(n))


def test_emails_by_status_count_each_status_over_30_days_not_its_templates() -> None:
    """Sent 10, delivered 8, opened 4, bounced 1; `-/sent.reminder` is a template's, not a status."""
    days = {
        TODAY: {
            "-/sent": tally(6),
            "-/sent.reminder": tally(6),
            "-/delivered": tally(8),
            "-/bounced": tally(1),
        },
        ago(29): {"-/sent": tally(4), "-/opened": tally(4), "-/opened.reminder": tally(4)},
        ago(30): {"-/clicked": tally(3)},
    }
    assert builders.emails_by_status(days, NOW) == Bars(
        bars=(
            Bar(label="sent", figure=count(10)),
            Bar(label="delivered", figure=count(8)),
            Bar(label="opened", figure=count(4)),
            Bar(label="bounced", figure=count(1)),
        )
    )


def test_bounce_rate_is_bounced_over_sent_in_30_days_with_its_trend() -> None:
    """1 bounced of 8 sent: 12.5 %; today alone 1 of 2: 50.0 %; nothing sent: "—"."""
    days = {TODAY: {"-/sent": tally(2), "-/bounced": tally(1)}, ago(20): {"-/sent": tally(6)}}
    kpi = builders.bounce_rate(days, NOW)
    assert kpi.figure == Figure(value=12.5, display="12.5 %")
    assert kpi.note == "30 days: 1 bounced of 8 sent"
    assert kpi.trend[-1] == Figure(value=50.0, display="50.0 %")
    assert kpi.trend[0] == Figure(value=None, display="—")
    assert builders.bounce_rate({}, NOW).figure == Figure(value=None, display="—")


def test_documents_rendered_are_receipts_and_invoices_per_day_over_14_days() -> None:
    """Every currency added up per day; the 15th day back is left out."""
    days = {
        TODAY: {"EUR/rendered.receipt": tally(2, 20), "USD/rendered.receipt": tally(1, 5),
                "EUR/rendered.invoice": tally(1, 7)},
        ago(13): {"EUR/rendered.invoice": tally(4, 40)},
        ago(14): {"EUR/rendered.receipt": tally(9, 90)},
    }  # fmt: skip
    series = builders.documents_rendered(days, NOW)
    assert series.x == tuple(ago(n).isoformat() for n in range(13, -1, -1))
    assert series == Series(
        x=series.x,
        lines=(
            Line(label="Receipts", figures=(*(count(0),) * 13, count(3))),
            Line(label="Invoices", figures=(count(4), *(count(0),) * 12, count(1))),
        ),
    )


def test_dead_letters_by_source_sum_exactly_the_24_hourly_buckets_ending_now() -> None:
    """At 15:30: yesterday from 16:00 and today up to 15:59; the daily and kind dimensions are not added."""
    days = {
        ago(1): {"-/source.payment-events@15": tally(5), "-/source.payment-events@16": tally(2),
                 "-/source.domain-events/dunning@23": tally(1), "-/source.payment-events": tally(7)},
        TODAY: {"-/source.payment-events@00": tally(1), "-/source.domain-events/dunning@15": tally(2),
                "-/source.payment-events": tally(1), "-/kind.invalid": tally(3)},
    }  # fmt: skip
    assert builders.dead_letters(days, NOW) == Bars(
        bars=(
            Bar(label="domain-events/dunning", figure=count(3)),
            Bar(label="payment-events", figure=count(3)),
        )
    )
    just_after_midnight = datetime(2026, 12, 7, 0, 5, tzinfo=UTC)  # 2026-12-06 is yesterday: after 00:59
    assert builders.dead_letters(days, just_after_midnight) == Bars(
        bars=(Bar(label="domain-events/dunning", figure=count(2)),)
    )


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda spec: spec.id)
def test_every_catalogue_tile_has_a_builder_of_its_template(spec: object) -> None:
    """Built from no counters at all, each tile is a valid `Tile` of its catalogue template."""
    assert spec in CATALOGUE
    found = next(s for s in CATALOGUE if s is spec)
    tile = refresh.build(found, {}, NOW)
    assert Tile.model_validate_json(tile.model_dump_json()) == tile
    assert tile.data.template == found.template
    first_day = builders.BUILDERS[found.id].first_day  # None: it reads no counters by day
    assert first_day is None or first_day(TODAY) <= TODAY


def test_the_catalogue_and_the_builders_name_the_same_tiles_once_each() -> None:
    """No builder without a tile, no tile without a builder, no id twice."""
    ids = [spec.id for spec in CATALOGUE]
    assert len(set(ids)) == len(ids)
    assert sorted(ids) == sorted(builders.BUILDERS)
