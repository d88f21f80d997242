"""The schedule: due tiles rebuilt from the counters in few reads, saved with their TTL, failures isolated."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from bindings.clock import VirtualClock
from bindings.errors import TransientError
from bindings.testing import MemoryStateStore
from functions.aggregator import counters as aggregator_counters
from functions.common import aggregates, domain_events
from functions.common.tiles import CATALOGUE, Figure, Kpi, Tile
from functions.tile_builder import builders, refresh
from tests.unit.tile_builder.counters import NOW

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import StateItem

IDS = [spec.id for spec in CATALOGUE]


class CountingStore(MemoryStateStore):
    """A store that counts its bulk reads and can fail those of one topic's counters."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock)
        self.reads: list[int] = []
        self.asked: list[str] = []
        self.failing = ""

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Count the read (its keys); fail it when it reads the failing topic."""
        self.reads.append(len(keys))
        if self.failing and any(key.split(":")[:2] in (["counts", self.failing], ["totals", self.failing])
                                for key in keys):  # fmt: skip
            raise TransientError(f"{self.failing} unreadable")
        return super().get_many(keys)


@pytest.fixture
def clock() -> VirtualClock:
    """A clock at the tests' noon."""
    return VirtualClock(NOW)


def tiles_in(store: MemoryStateStore) -> dict[str, Tile]:
    """Every tile the store holds (not expired), by id."""
    return {
        key.removeprefix("tile:"): Tile.model_validate_json(store.get(key).value or b"")
        for key in store.keys("tile:")
    }


def test_a_first_tick_builds_every_tile_from_the_counters_and_saves_it_with_its_ttl(
    clock: VirtualClock,
) -> None:
    """One recovery today: the recovery-rate tile says 100.0 %; every tile is gone once its TTL passes."""
    counters, tiles = MemoryStateStore(clock), MemoryStateStore(clock)
    aggregator_counters.count(
        counters, domain_events.DUNNING, NOW.date(), "pay_1:recovered", {"EUR/recovered": 500}
    )
    report = refresh.tick(counters, tiles, CATALOGUE, clock.now())
    assert (report.built, report.fresh, report.failed) == (IDS, [], {})
    found = tiles_in(tiles)
    assert sorted(found) == sorted(IDS)
    rate = found["recovery-rate"]
    assert (rate.title, rate.generated_at, rate.refresh_seconds) == ("Recovery rate", NOW, 120)
    assert isinstance(rate.data, Kpi)
    assert rate.data.figure == Figure(value=100.0, display="100.0 %")
    clock.advance(timedelta(seconds=3600 - 1))
    assert sorted(tiles_in(tiles)) == sorted(IDS)
    clock.advance(timedelta(seconds=1))
    assert tiles_in(tiles) == {}


def test_a_tile_is_due_once_nine_tenths_of_its_refresh_have_passed(clock: VirtualClock) -> None:
    """Right after a build nothing is due; at 108 s the 120 s tiles are, the 600 s ones are not."""
    counters, tiles = MemoryStateStore(clock), MemoryStateStore(clock)
    refresh.tick(counters, tiles, CATALOGUE, clock.now())
    assert refresh.tick(counters, tiles, CATALOGUE, clock.now()).fresh == IDS
    clock.advance(timedelta(seconds=107))
    assert refresh.tick(counters, tiles, CATALOGUE, clock.now()).built == ["dead-letters"]  # 60 s
    clock.advance(timedelta(seconds=1))
    report = refresh.tick(counters, tiles, CATALOGUE, clock.now())
    assert report.fresh == ["recovered-revenue", "time-to-recover", "recoveries-by-email", "dead-letters"]
    assert report.built == [tile for tile in IDS if tile not in report.fresh]


def test_a_tick_reads_the_tiles_once_and_each_topics_days_in_batches(clock: VirtualClock) -> None:
    """Dunning's six months (159 days of 16 shards) in 5 reads; email, documents, dead letters 1 each.

    Nothing counted yet, so each read of totals keys is followed by one of the same shards' counts keys;
    and dunning's gauges once (16 keys), for the two tiles that read them.
    """
    counters, tiles = CountingStore(clock), CountingStore(clock)
    refresh.tick(counters, tiles, CATALOGUE, clock.now())
    assert tiles.reads == [len(CATALOGUE)]
    first = builders.month_starts(NOW.date())[0]
    dunning = ((NOW.date() - first).days + 1) * aggregates.SHARDS
    assert dunning == 159 * 16
    assert len(counters.reads) == 2 * (math.ceil(dunning / aggregates.READ_BATCH) + 3) + 1
    assert counters.reads.count(aggregates.SHARDS) == 1  # the gauges (the day reads are all longer)
    assert max(counters.reads) <= aggregates.READ_BATCH


def test_a_topic_that_cannot_be_read_fails_its_tiles_only(clock: VirtualClock) -> None:
    """The email counters unreadable: its two tiles fail with the reason, the others are saved."""
    counters, tiles = CountingStore(clock), MemoryStateStore(clock)
    counters.failing = domain_events.EMAIL
    report = refresh.tick(counters, tiles, CATALOGUE, clock.now())
    assert report.failed == {
        "emails-by-status": "TransientError: email unreadable",
        "bounce-rate": "TransientError: email unreadable",
    }
    assert sorted(tiles_in(tiles)) == sorted(set(IDS) - set(report.failed))


def test_a_builder_that_fails_or_builds_the_wrong_template_fails_its_tile_only(
    clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A builder raising, another returning bars for a KPI: both reported, the rest built."""

    def broken(*_args: object) -> Kpi:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(
        builders.BUILDERS, "lost", builders.Builder(domain_events.DUNNING, lambda d: d, broken)
    )
    wrong = builders.Builder(domain_events.EMAIL, lambda d: d, builders.emails_by_status)
    monkeypatch.setitem(builders.BUILDERS, "bounce-rate", wrong)
    tiles = MemoryStateStore(clock)
    report = refresh.tick(MemoryStateStore(clock), tiles, CATALOGUE, clock.now())
    assert report.failed == {
        "lost": "ZeroDivisionError: boom",
        "bounce-rate": "ValueError: tile bounce-rate is a kpi in the catalogue, built as bars",
    }
    assert len(report.built) == len(IDS) - 2


def test_an_unreadable_stored_tile_is_built_again(clock: VirtualClock) -> None:
    """A tile of an unknown version (or not JSON) counts as missing."""
    counters, tiles = MemoryStateStore(clock), MemoryStateStore(clock)
    refresh.tick(counters, tiles, CATALOGUE, clock.now())
    tiles.save("tile:lost", b'{"version": 9}')
    tiles.save("tile:bounce-rate", b"not json")
    assert refresh.tick(counters, tiles, CATALOGUE, clock.now()).built == ["lost", "bounce-rate"]


def test_ticks_sharing_earlier_read_settled_days_counts_keys_once(clock: VirtualClock) -> None:
    """With the app's `Earlier`, a later tick reads the counts keys of today and yesterday only."""

    class Keys(CountingStore):
        def get_many(self, keys: Sequence[str]) -> list[StateItem]:
            self.asked += keys
            return super().get_many(keys)

    counters, tiles = Keys(clock), MemoryStateStore(clock)
    earlier = aggregates.Earlier(settled_before=NOW.date())
    refresh.tick(counters, tiles, CATALOGUE, clock.now(), earlier=earlier)
    days_read = {key.split(":")[2] for key in counters.asked if key.startswith("counts:")}
    assert len(days_read) > 2
    counters.asked = []
    clock.advance(timedelta(hours=2))  # every tile due again
    assert refresh.tick(counters, tiles, CATALOGUE, clock.now(), earlier=earlier).built == IDS
    today, yesterday = clock.now().date(), clock.now().date() - timedelta(days=1)
    assert earlier.settled_before == yesterday
    topics = {builders.BUILDERS[s.id].topic for s in CATALOGUE if builders.BUILDERS[s.id].first_day}
    assert {key for key in counters.asked if key.startswith("counts:")} == {
        aggregates.key(topic, day, n) for topic in topics for day in (today, yesterday) for n in range(16)
    }
