"""The counters' readers: a day's shards added up in one read, many days' in few reads."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from bindings.testing import MemoryStateStore
from functions.aggregator import counters
from functions.common import aggregates
from functions.common.aggregates import Tally

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import StateItem

DAY = date(2026, 12, 6)


class Counting(MemoryStateStore):
    """Counts the keys of each bulk read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Count, then read."""
        self.reads.append(len(keys))
        return super().get_many(keys)


def test_the_shard_keys_are_the_ones_the_aggregator_writes() -> None:
    """Every event's shard key is one of the day's `SHARDS` keys, `counts:{topic}:{day}:{shard}`."""
    keys = aggregates.shard_keys("dunning", DAY)
    assert keys[0] == "counts:dunning:2026-12-06:0"
    assert len(keys) == aggregates.SHARDS == 16
    assert {counters.shard_key("dunning", DAY, f"pay_{n}:opened") for n in range(200)} == set(keys)


def test_totals_by_day_reads_many_days_in_batches_and_gives_each_its_own() -> None:
    """40 days of one topic: 640 keys in two reads; each day its tallies, a day without counters empty."""
    store = Counting()
    for back, event in ((0, "a"), (0, "b"), (39, "c")):
        day = DAY - timedelta(days=back)
        counters.count(store, "email", day, event, {"-/sent": 0})
    days = [DAY - timedelta(days=back) for back in range(39, -1, -1)]
    found = aggregates.totals_by_day(store, "email", days)
    assert store.reads == [aggregates.READ_BATCH, 40 * 16 - aggregates.READ_BATCH]
    assert list(found) == days
    assert found[DAY] == {"-/sent": Tally(count=2, amount=0)}
    assert found[days[0]] == {"-/sent": Tally(count=1, amount=0)}
    assert found[DAY - timedelta(days=1)] == {}
    assert aggregates.totals(store, "email", DAY) == found[DAY]
