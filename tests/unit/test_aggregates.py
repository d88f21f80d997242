"""The counters' readers: totals keys in few reads, a shard without one from its counts key, gauges."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from bindings.testing import MemoryStateStore
from functions.aggregator import counters
from functions.common import aggregates
from functions.common.aggregates import Counts, Level, Tally, Totals

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import StateItem

DAY = date(2026, 12, 6)


class Counting(MemoryStateStore):
    """Counts the keys of each bulk read, and keeps the keys read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []
        self.read: list[str] = []

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Count, then read."""
        self.reads.append(len(keys))
        self.read += keys
        return super().get_many(keys)


def test_the_shard_keys_are_the_ones_the_aggregator_writes() -> None:
    """Every event's shard key is one of the day's `SHARDS` keys, `counts:{topic}:{day}:{shard}`."""
    keys = aggregates.shard_keys("dunning", DAY)
    assert keys[0] == "counts:dunning:2026-12-06:0"
    assert len(keys) == aggregates.SHARDS == 16
    assert {counters.shard_key("dunning", DAY, f"pay_{n}:opened") for n in range(200)} == set(keys)


def test_totals_by_day_reads_many_days_in_batches_and_gives_each_its_own() -> None:
    """40 days of one topic: 640 totals keys in two reads, then the counts keys of the shards with none."""
    store = Counting()
    for back, event in ((0, "a"), (0, "b"), (39, "c")):
        day = DAY - timedelta(days=back)
        counters.count(store, "email", day, event, {"-/sent": 0})
    written = len(store.keys(aggregates.TOTALS_PREFIX))
    days = [DAY - timedelta(days=back) for back in range(39, -1, -1)]
    found = aggregates.totals_by_day(store, "email", days)
    assert store.reads == [aggregates.READ_BATCH, 640 - aggregates.READ_BATCH, aggregates.READ_BATCH,
                           640 - written - aggregates.READ_BATCH]  # fmt: skip
    every = {key for day in days for n in range(16) for key in (aggregates.totals_key("email", day, n),
                                                                aggregates.key("email", day, n))}  # fmt: skip
    assert set(store.read) == every - set(store.keys("counts:"))  # a counts key beside its totals: unread
    assert list(found) == days
    assert found[DAY] == {"-/sent": Tally(count=2, amount=0)}
    assert found[days[0]] == {"-/sent": Tally(count=1, amount=0)}
    assert found[DAY - timedelta(days=1)] == {}
    assert aggregates.totals(store, "email", DAY) == found[DAY]


def test_a_day_with_every_shard_written_reads_its_totals_keys_only() -> None:
    """Once every shard of a day has its totals key, no counts key (the ids) is read."""
    store = Counting()
    events = [f"pay_{n}:opened" for n in range(400)]
    for event in events:
        counters.count(store, "dunning", DAY, event, {"EUR/opened": 5})
    assert len(store.keys(aggregates.TOTALS_PREFIX)) == aggregates.SHARDS
    store.reads.clear()
    assert aggregates.totals(store, "dunning", DAY) == {"EUR/opened": Tally(count=400, amount=2000)}
    assert store.reads == [16]
    assert all(key.startswith(aggregates.TOTALS_PREFIX) for key in store.read)


def test_a_shard_written_before_totals_existed_is_read_from_its_counts_key() -> None:
    """A counts key without its totals key (the layout before totals): its tallies still count."""
    store = MemoryStateStore()
    old = Counts(tallies={"EUR/opened": Tally(count=2, amount=30)}, seen=("x", "y"))
    store.save(aggregates.key("dunning", DAY, 3), old.model_dump_json().encode())
    counters.count(store, "dunning", DAY, "pay_1:opened", {"EUR/opened": 5})
    assert counters.shard("pay_1:opened") != 3
    assert aggregates.totals(store, "dunning", DAY) == {"EUR/opened": Tally(count=3, amount=35)}


def test_the_totals_key_holds_the_counts_keys_tallies_and_nothing_else() -> None:
    """After each count, a shard's totals key is a `Totals` with exactly its counts key's tallies."""
    store = MemoryStateStore()
    for n in range(30):
        counters.count(store, "dunning", DAY, f"pay_{n}:opened", {"EUR/opened": n, f"EUR/code.c{n % 3}": n})
    for shard in range(aggregates.SHARDS):
        counts, totals = store.get_many(
            [aggregates.key("dunning", DAY, shard), aggregates.totals_key("dunning", DAY, shard)]
        )
        assert (counts.value is None) == (totals.value is None)
        if counts.value and totals.value:
            tallies = Counts.model_validate_json(counts.value).tallies
            assert Totals.model_validate_json(totals.value) == Totals.of(tallies)


def test_gauges_move_once_per_event_and_add_up_over_their_shards() -> None:
    """Moves of many events, some delivered twice: the topic's levels are their sum, each counted once."""
    store = MemoryStateStore()
    up, down = Level(count=1, amount=100), Level(count=-1, amount=-100)
    for n in range(40):
        for _ in range(2):  # redelivered
            counters.count(
                store, "dunning", DAY, f"c{n}:opened", {"EUR/opened": 100}, moves={"EUR/open.0": up}
            )
    for n in range(15):
        counters.count(
            store, "dunning", DAY, f"c{n}:recovered", {"EUR/recovered": 100}, moves={"EUR/open.0": down}
        )
    assert len(store.keys(aggregates.GAUGES_PREFIX)) > 1
    assert aggregates.levels(store, "dunning") == {"EUR/open.0": Level(count=25, amount=2500)}
    assert aggregates.levels(store, "email") == {}


def test_settled_days_shards_without_totals_are_read_once_a_process() -> None:
    """With `Earlier`, a settled day's counts keys are read once (absent or old); later reads skip them."""
    store = Counting()
    old = Counts(tallies={"EUR/opened": Tally(count=2, amount=30)}, seen=("x", "y"))
    settled, recent = DAY - timedelta(days=3), DAY - timedelta(days=1)
    store.save(aggregates.key("dunning", settled, 3), old.model_dump_json().encode())
    earlier = aggregates.Earlier(settled_before=recent)
    first = aggregates.totals_by_day(store, "dunning", [settled, recent], earlier=earlier)
    assert store.reads == [32, 32]  # every totals key, then every counts key: none has totals
    store.reads.clear()
    again = aggregates.totals_by_day(store, "dunning", [settled, recent], earlier=earlier)
    assert store.reads == [32, 16]  # the recent day's counts keys only
    assert first == again == {settled: {"EUR/opened": Tally(count=2, amount=30)}, recent: {}}
    assert set(earlier.kept) == set(aggregates.shard_keys("dunning", settled))


def test_a_settled_shard_written_after_it_was_kept_is_read_from_its_totals() -> None:
    """A late event counted on a settled day gives its shard a totals key, read first: nothing is missed."""
    store = MemoryStateStore()
    settled = DAY - timedelta(days=5)
    earlier = aggregates.Earlier(settled_before=DAY)
    assert aggregates.totals_by_day(store, "email", [settled], earlier=earlier) == {settled: {}}
    counters.count(store, "email", settled, "late", {"-/opened": 0})
    found = aggregates.totals_by_day(store, "email", [settled], earlier=earlier)
    assert found == {settled: {"-/opened": Tally(count=1, amount=0)}}
