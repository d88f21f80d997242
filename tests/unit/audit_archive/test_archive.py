"""The audit archive keeps each domain event once, under redelivery and concurrent replicas."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from bindings.errors import ConflictError, TransientError
from bindings.testing import ContendedStateStore, MemoryStateStore
from functions.audit_archive import archive
from tests.unit.audit_archive.events import DAY, NOON, opened, sent


def kept(store: MemoryStateStore, topic: str = "dunning", day: date = DAY) -> dict[str, str]:
    """Every line kept for `topic` on `day`, by event id."""
    return archive.lines(store.get_many(archive.shard_keys(topic, day)))


def test_an_event_is_kept_once_as_its_json_line_and_its_day_marked_dirty() -> None:
    """The first handling keeps the event's own JSON; redeliveries add nothing and say so."""
    store = MemoryStateStore()
    event = opened()
    assert [archive.keep(store, "dunning", event) for _ in range(3)] == [True, False, False]
    assert kept(store) == {event.event_id: event.model_dump_json()}
    assert archive.dirty_days(store, ["dunning", "email"]) == [("dunning", DAY)]


def test_events_are_kept_under_their_utc_day_and_topic() -> None:
    """An event at 01:00 +13:00 on the 7th belongs to the 6th (UTC); topics are kept apart."""
    store = MemoryStateStore()
    auckland = opened(at=datetime(2026, 12, 7, 1, tzinfo=timezone(timedelta(hours=13))))
    archive.keep(store, "dunning", auckland)
    archive.keep(store, "email", sent())
    archive.keep(store, "dunning", opened("pay_2", at=NOON + timedelta(days=1)))
    assert list(kept(store)) == [auckland.event_id]
    assert list(kept(store, "email")) == ["req-1:sent"]
    assert archive.dirty_days(store, ["dunning", "email"]) == [
        ("dunning", DAY), ("dunning", DAY + timedelta(days=1)), ("email", DAY),
    ]  # fmt: skip


def test_an_event_kept_already_marks_its_day_again() -> None:
    """A redelivery after the day was rendered (or after a crash before the mark) leaves it dirty."""
    store = MemoryStateStore()
    archive.keep(store, "dunning", opened())
    archive.unmark(store, "dunning", DAY)
    assert archive.dirty_days(store, ["dunning"]) == []
    assert not archive.keep(store, "dunning", opened())
    assert archive.dirty_days(store, ["dunning"]) == [("dunning", DAY)]


def test_replicas_keeping_the_same_events_at_once_keep_each_once() -> None:
    """Two threads handle the same 200 events concurrently: each is kept by exactly one of them."""
    store = MemoryStateStore()
    events = [opened(f"pay_{n}") for n in range(200)]
    start = threading.Barrier(2)
    firsts: list[str] = []

    def replica() -> None:
        start.wait()
        firsts.extend(event.event_id for event in events if archive.keep(store, "dunning", event))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(firsts) == sorted(event.event_id for event in events)
    assert kept(store) == {event.event_id: event.model_dump_json() for event in events}
    assert archive.dirty_days(store, ["dunning"]) == [("dunning", DAY)]


def test_contention_past_the_budget_is_transient_so_the_event_comes_back() -> None:
    """Losing every race raises ConflictError, a TransientError: the event is retried, not dropped."""
    with pytest.raises(ConflictError) as raised:
        archive.keep(ContendedStateStore(), "dunning", opened())
    assert isinstance(raised.value, TransientError)
