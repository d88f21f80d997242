"""The counters skip re-parsing a shard this process wrote, and still see every other writer's change."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest

from bindings.errors import ConflictError
from bindings.ports import StateItem
from bindings.testing import MemoryStateStore
from functions.aggregator import counters
from functions.common.aggregates import Counts, Tally

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.ports import Write

DAY = date(2026, 12, 6)


def same_shard(count: int) -> list[str]:
    """`count` event ids that land in one shard."""
    ids = [f"pay_{n}:opened" for n in range(400)]
    first = counters.shard_key("dunning", DAY, ids[0])
    return [event for event in ids if counters.shard_key("dunning", DAY, event) == first][:count]


@pytest.fixture(autouse=True)
def _forget() -> None:
    counters.LAST_WRITTEN.clear()


def test_the_stored_shard_is_what_the_validated_model_writes() -> None:
    """Three events in one shard: the bytes are `Counts(…)`'s JSON, byte for byte, and read back equal."""
    store, ids = MemoryStateStore(), same_shard(3)
    for event in ids:
        assert counters.count(store, "dunning", DAY, event, {"EUR/opened": 100, "-/x": 0})
    value = store.get(counters.shard_key("dunning", DAY, ids[0])).value
    expected = Counts(tallies={"EUR/opened": Tally(count=3, amount=300), "-/x": Tally(count=3, amount=0)},
                      seen=tuple(ids))  # fmt: skip
    assert value == expected.model_dump_json().encode()
    assert Counts.model_validate_json(value or b"") == expected


def test_a_shard_written_here_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second event of a shard finds the bytes it wrote last: no validation of the stored JSON."""
    store, (first, second) = MemoryStateStore(), same_shard(2)
    assert counters.count(store, "dunning", DAY, first, {"EUR/opened": 1})

    def refuse(_value: bytes) -> Counts:
        raise AssertionError("parsed again")

    monkeypatch.setattr(Counts, "model_validate_json", refuse)
    assert counters.count(store, "dunning", DAY, second, {"EUR/opened": 1})
    assert not counters.count(store, "dunning", DAY, first, {"EUR/opened": 1})


def test_another_writers_change_is_read_as_stored() -> None:
    """Another replica counted an event since this one wrote the shard: its id and tally are kept."""
    store, (mine, theirs, later) = MemoryStateStore(), same_shard(3)
    assert counters.count(store, "dunning", DAY, mine, {"EUR/opened": 1})
    name = counters.shard_key("dunning", DAY, mine)
    other = Counts(tallies={"EUR/opened": Tally(count=2, amount=2)}, seen=(mine, theirs))
    store.save(name, other.model_dump_json().encode(), etag=store.get(name).etag)
    assert not counters.count(store, "dunning", DAY, theirs, {"EUR/opened": 1})
    assert counters.count(store, "dunning", DAY, later, {"EUR/opened": 1})
    stored = Counts.model_validate_json(store.get(name).value or b"")
    assert stored == Counts(tallies={"EUR/opened": Tally(count=3, amount=3)}, seen=(mine, theirs, later))


class _Lost(MemoryStateStore):
    """Every write guarded by an ETag loses the race (creating a key still wins)."""

    def transact(self, writes: Sequence[Write]) -> None:
        """Lost when a write is guarded by an ETag."""
        if any(write.guarded and write.etag for write in writes):
            raise ConflictError(f"etag mismatch on {writes[0].key}")
        super().transact(writes)


def test_a_lost_write_is_not_remembered() -> None:
    """A write that lost its race leaves the shard's last entry as it was (the bytes it replaced)."""
    store, (first, second) = _Lost(), same_shard(2)
    assert counters.count(store, "dunning", DAY, first, {"EUR/opened": 1})  # created: no ETag yet
    name = counters.shard_key("dunning", DAY, first)
    kept = counters.LAST_WRITTEN[name]
    with pytest.raises(ConflictError):
        counters.count(store, "dunning", DAY, second, {"EUR/opened": 1})
    assert counters.LAST_WRITTEN[name] is kept
    assert store.get(name) == StateItem(name, kept[0], store.get(name).etag)


def test_the_remembered_shards_are_bounded() -> None:
    """Past `4 * SHARDS` keys (a new day's) the remembered shards start afresh."""
    store = MemoryStateStore()
    for back in range(6):
        for n in range(40):
            counters.count(store, "email", date(2026, 12, 1 + back), f"e{n}", {"-/sent": 0})
    assert 0 < len(counters.LAST_WRITTEN) <= counters.KEPT
