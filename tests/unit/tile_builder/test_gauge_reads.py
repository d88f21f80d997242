"""The gauges in a tick: read once, only when a due tile reads them, their failure kept to those tiles.

And the cases' tiles from version 2 dunning events counted as the aggregator counts them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from bindings.clock import VirtualClock
from bindings.errors import TransientError
from bindings.testing import MemoryStateStore
from functions.aggregator import counters as aggregator_counters
from functions.aggregator import tallies
from functions.common import aggregates, domain_events
from functions.common.domain_events import DunningEvent, DunningEventType, dunning_event_id
from functions.common.tiles import CATALOGUE, Bars, Kpi, Table, Tile
from functions.tile_builder import refresh
from functions.tile_builder.case_builders import PENDING
from tests.unit.tile_builder.counters import NOW, shown

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import StateItem

GAUGE_TILES = ["at-risk", "cases-by-step"]


class GaugeReads(MemoryStateStore):
    """A store that keeps the keys of each read, and can fail the reads of gauges or of day counters."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.reads: list[list[str]] = []
        self.failing: tuple[str, ...] = ()  # key prefixes whose reads fail

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Keep the read; fail it when one of its keys starts with a failing prefix."""
        self.reads.append(list(keys))
        if self.failing and any(key.startswith(self.failing) for key in keys):
            raise TransientError("store unreadable")
        return super().get_many(keys)

    def gauge_reads(self) -> list[list[str]]:
        """The reads of gauges keys."""
        return [keys for keys in self.reads if keys[0].startswith(aggregates.GAUGES_PREFIX)]


@pytest.fixture
def clock() -> VirtualClock:
    """A clock at the tests' noon."""
    return VirtualClock(NOW)


def test_a_tick_reads_the_dunning_gauges_once_for_both_tiles_that_need_them(clock: VirtualClock) -> None:
    """Every tile due: one read of the 16 gauges keys, and both gauge tiles built."""
    store = GaugeReads(clock)
    report = refresh.tick(store, MemoryStateStore(clock), CATALOGUE, clock.now())
    assert set(GAUGE_TILES) <= set(report.built)
    keys = [aggregates.gauges_key(domain_events.DUNNING, shard) for shard in range(aggregates.SHARDS)]
    assert store.gauge_reads() == [keys]


def test_a_tick_with_no_gauge_tile_due_reads_no_gauges(clock: VirtualClock) -> None:
    """At 108 s only the 120 s and 60 s tiles are due, gauge tiles among them; at 60 s dead letters alone."""
    store, tiles = GaugeReads(clock), MemoryStateStore(clock)
    refresh.tick(store, tiles, CATALOGUE, clock.now())
    store.reads.clear()
    clock.advance(timedelta(seconds=60))
    assert refresh.tick(store, tiles, CATALOGUE, clock.now()).built == ["dead-letters"]
    assert store.gauge_reads() == []
    assert store.reads  # the dead letters' days were read
    clock.advance(timedelta(seconds=48))
    assert set(GAUGE_TILES) <= set(refresh.tick(store, tiles, CATALOGUE, clock.now()).built)
    assert len(store.gauge_reads()) == 1


def test_unreadable_gauges_fail_the_gauge_tiles_only(clock: VirtualClock) -> None:
    """Gauges unreadable: at-risk and cases-by-step fail with the reason; every other tile is saved."""
    store, tiles = GaugeReads(clock), MemoryStateStore(clock)
    store.failing = (aggregates.GAUGES_PREFIX,)
    report = refresh.tick(store, tiles, CATALOGUE, clock.now())
    assert report.failed == dict.fromkeys(GAUGE_TILES, "TransientError: store unreadable")
    assert len(store.gauge_reads()) == 1  # the failure is remembered for the tick, not read again
    assert sorted(report.built) == sorted(spec.id for spec in CATALOGUE if spec.id not in GAUGE_TILES)


def test_at_risk_reads_no_day_counters_so_it_is_built_when_they_cannot_be_read(clock: VirtualClock) -> None:
    """Dunning's day counters unreadable: its tiles fail, but at-risk (gauges only) is built."""
    store = GaugeReads(clock)
    store.failing = (f"{aggregates.TOTALS_PREFIX}dunning:", f"{aggregates.KEY_PREFIX}dunning:")
    report = refresh.tick(store, MemoryStateStore(clock), CATALOGUE, clock.now())
    assert "at-risk" in report.built
    assert "cases-by-step" in report.failed
    assert "recovery-rate" in report.failed


def event(kind: DunningEventType, case: str, at: timedelta, **more: object) -> DunningEvent:
    """A version 2 dunning event of `case` (its payment failed 54 h before NOW), `at` after the failure."""
    amount, currency = (1000, "USD") if case.startswith("usd") else (2900, "EUR")
    failed_at = NOW - timedelta(hours=54)
    return DunningEvent.model_validate({
        "version": 2, "type": kind, "event_id": dunning_event_id(kind, case, more.get("attempt")),  # type: ignore[arg-type]
        "case_id": case, "customer_id": f"cus_{case}", "occurred_at": failed_at + at, "amount": amount,
        "currency": currency, "failed_at": failed_at, **more,
    })  # fmt: skip


def counted(store: MemoryStateStore, *events: DunningEvent) -> None:
    """Count each event as the aggregator does: its dimensions and gauge moves, on its own day."""
    for found in events:
        dimensions, moves = tallies.dunning_dimensions(found), tallies.dunning_moves(found)
        day = found.occurred_at.date()
        aggregator_counters.count(store, domain_events.DUNNING, day, found.event_id, dimensions, moves=moves)


def test_the_cases_tiles_from_version_2_events_as_the_aggregator_counts_them(clock: VirtualClock) -> None:
    """A recovered at step 2 after 53 h, B open, C canceled at step 0, D's close counted before the rest."""
    store, tiles = MemoryStateStore(clock), MemoryStateStore(clock)
    declined = {"outcome": "declined", "decline_class": "soft", "decline_code": "insufficient_funds"}
    counted(
        store,
        event("case.opened", "eur_a", timedelta(0), step=0),
        event("attempt.charged", "eur_a", timedelta(hours=20), attempt=1, step=1, **declined),
        event("attempt.charged", "eur_a", timedelta(hours=53), attempt=2, step=2, outcome="paid"),
        event("case.recovered", "eur_a", timedelta(hours=53, minutes=1), step=2, email_step="payment_failed"),
        event("case.opened", "usd_b", timedelta(hours=1), step=0),
        event("case.opened", "eur_c", timedelta(hours=2), step=0),
        event("case.canceled", "eur_c", timedelta(hours=3), step=0),
        event("case.abandoned", "eur_d", timedelta(hours=52), step=1),  # its opening, charge not counted yet
    )
    report = refresh.tick(store, tiles, CATALOGUE, clock.now())
    assert report.failed == {}
    built = {
        spec.id: Tile.model_validate_json(tiles.get(f"tile:{spec.id}").value or b"") for spec in CATALOGUE
    }
    at_risk, by_step = built["at-risk"].data, built["cases-by-step"].data
    time, emails = built["time-to-recover"].data, built["recoveries-by-email"].data
    assert isinstance(at_risk, Table)
    assert isinstance(by_step, Table)
    assert isinstance(time, Kpi)
    assert isinstance(emails, Bars)
    assert at_risk.rows == (
        ("EUR", f"0{PENDING}", f"{shown(0, 'EUR')}{PENDING}"),  # A and C closed, D: -1 and -29.00 for now
        ("USD", "1", shown(1000, "USD")),
    )
    assert by_step.rows == (
        ("0", "1", "0", "0", "1"),
        ("1", f"0{PENDING}", "0", "1", "0"),
        ("2", "0", "1", "0", "0"),
    )
    assert time.figure.display == "2 d 5 h"
    assert [(bar.label, bar.figure.display) for bar in emails.bars] == [("payment_failed", "1")]
