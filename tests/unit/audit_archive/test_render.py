"""The audit archive's day blobs: deterministic, sorted, written only when changed, whole under races."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta, timezone
from typing import TYPE_CHECKING

from bindings.errors import TransientError
from bindings.testing import MemoryBlobStore, MemoryStateStore
from functions.audit_archive import archive, render
from functions.audit_archive.render import Written
from functions.common.domain_events import DunningEvent
from tests.unit.audit_archive.events import DAY, NOON, opened, sent

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from bindings.ports import StateItem

BLOB = "2026/12/06/dunning.jsonl"
TOPICS = ("dunning", "email")


class _CountingBlobs(MemoryBlobStore):
    """A blob store that counts puts and can run something just before a put lands (another replica)."""

    def __init__(self, shared: dict[str, tuple[bytes, str, dict[str, str]]] | None = None) -> None:
        super().__init__()
        if shared is not None:
            self.blobs = shared
        self.puts = 0
        self.before_put: Callable[[], None] | None = None
        self.failing = ""  # puts of names ending so fail

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Run `before_put` once, then store (or fail)."""
        self.puts += 1
        if self.failing and name.endswith(self.failing):
            raise TransientError("storage unavailable")
        hook, self.before_put = self.before_put, None
        if hook is not None:
            hook()
        super().put(name, data, content_type=content_type, metadata=metadata)


def lines_of(blobs: MemoryBlobStore, name: str = BLOB) -> list[str]:
    """The event ids of a blob's lines, in order."""
    return [json.loads(line)["event_id"] for line in blobs.get(name).decode().splitlines()]


def test_a_day_renders_to_the_same_sorted_bytes_whatever_the_order_events_arrived_in() -> None:
    """Sorted by (occurred_at in UTC, event id), one newline-ended line each, byte for byte the same."""
    tokyo = timezone(timedelta(hours=9))
    events = [
        opened("pay_b"), opened("pay_a"), opened("pay_late", at=NOON + timedelta(hours=3)),
        opened("pay_early", at=(NOON - timedelta(hours=1)).astimezone(tokyo)),
    ]  # fmt: skip
    outputs = []
    for order in itertools.permutations(events):
        store, blobs = MemoryStateStore(), MemoryBlobStore()
        for event in order:
            archive.keep(store, "dunning", event)
        render.tick(store, blobs, TOPICS)
        outputs.append(blobs.get(BLOB))
    assert len(set(outputs)) == 1
    assert outputs[0].endswith(b"\n")
    assert lines_of(blobs) == ["pay_early:opened", "pay_a:opened", "pay_b:opened", "pay_late:opened"]
    by_id = {event.event_id: event for event in events}
    for line in outputs[0].decode().splitlines():
        event = DunningEvent.model_validate_json(line)
        assert event == by_id[event.event_id]
    assert blobs.blobs[BLOB][1] == "application/x-ndjson"


def test_a_tick_writes_each_dirty_day_and_topic_then_leaves_them_clean() -> None:
    """`yyyy/mm/dd/{topic}.jsonl` per dirty day and topic, its record kept; the next tick does nothing."""
    store, blobs = MemoryStateStore(), _CountingBlobs()
    archive.keep(store, "dunning", opened())
    archive.keep(store, "dunning", opened("pay_2", at=NOON + timedelta(days=1)))
    archive.keep(store, "email", sent())
    report = render.tick(store, blobs, TOPICS)
    assert report.written == {BLOB: 1, "2026/12/07/dunning.jsonl": 1, "2026/12/06/email.jsonl": 1}
    assert (report.unchanged, report.failed) == ([], {})
    assert archive.dirty_days(store, TOPICS) == []
    record = Written.model_validate_json(store.get(render.written_key("dunning", DAY)).value or b"")
    assert record == Written(sha256=hashlib.sha256(blobs.get(BLOB)).hexdigest(), lines=1)
    assert render.tick(store, blobs, TOPICS) == render.Report()
    assert blobs.puts == 3


def test_a_day_marked_dirty_without_a_change_is_not_written_again() -> None:
    """A redelivered event marks its day; the render matches the record, so no put, and the day is clean."""
    store, blobs = MemoryStateStore(), _CountingBlobs()
    archive.keep(store, "dunning", opened())
    render.tick(store, blobs, TOPICS)
    assert not archive.keep(store, "dunning", opened())  # redelivered
    report = render.tick(store, blobs, TOPICS)
    assert (report.written, report.unchanged) == ({}, [BLOB])
    assert blobs.puts == 1
    assert archive.dirty_days(store, TOPICS) == []


def test_a_day_dirtied_again_by_a_new_event_is_written_again_with_it() -> None:
    """The next event of a rendered day makes the next tick write the day whole, the new line included."""
    store, blobs = MemoryStateStore(), MemoryBlobStore()
    archive.keep(store, "dunning", opened("pay_1"))
    render.tick(store, blobs, TOPICS)
    archive.keep(store, "dunning", opened("pay_2", at=NOON - timedelta(minutes=5)))
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 2}
    assert lines_of(blobs) == ["pay_2:opened", "pay_1:opened"]


def test_a_failed_blob_write_leaves_the_day_dirty_and_the_others_go_on() -> None:
    """The put fails: reported, the day stays dirty, another topic's is written; the next tick catches up."""
    store, blobs = MemoryStateStore(), _CountingBlobs()
    archive.keep(store, "dunning", opened())
    archive.keep(store, "email", sent())
    blobs.failing = "dunning.jsonl"
    report = render.tick(store, blobs, TOPICS)
    assert report.failed == {BLOB: "TransientError: storage unavailable"}
    assert list(blobs.blobs) == ["2026/12/06/email.jsonl"]
    blobs.failing = ""
    assert archive.dirty_days(store, TOPICS) == [("dunning", DAY)]
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 1}
    assert archive.dirty_days(store, TOPICS) == []


class _KeepsDuringRender(MemoryStateStore):
    """A store where an event is kept right after the render has read the day's shards."""

    def __init__(self) -> None:
        super().__init__()
        self.arriving: list[DunningEvent] = []

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Read, then let the next arriving event in."""
        items = super().get_many(keys)
        if self.arriving and keys[0].startswith("events:"):
            archive.keep(self, "dunning", self.arriving.pop())
        return items


def test_an_event_kept_while_its_day_renders_leaves_the_day_dirty() -> None:
    """The blob lacks the late event, but the day stays dirty and the next tick writes it."""
    store, blobs = _KeepsDuringRender(), MemoryBlobStore()
    archive.keep(store, "dunning", opened("pay_1"))
    store.arriving.append(opened("pay_2"))
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 1}
    assert archive.dirty_days(store, TOPICS) == [("dunning", DAY)]
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 2}
    assert archive.dirty_days(store, TOPICS) == []


def test_a_stale_put_landing_after_a_newer_one_is_written_again() -> None:
    """A renders 1 event; before its put lands B keeps a 2nd and writes both; A's put lands last.

    A's record write loses its ETag race, so the record is dropped, the day stays dirty, and the next tick
    writes both.
    """
    store = MemoryStateStore()
    shared: dict[str, tuple[bytes, str, dict[str, str]]] = {}
    slow, fast = _CountingBlobs(shared), _CountingBlobs(shared)
    archive.keep(store, "dunning", opened("pay_1"))

    def replica_b() -> None:
        archive.keep(store, "dunning", opened("pay_2"))
        assert render.tick(store, fast, TOPICS).written == {BLOB: 2}

    slow.before_put = replica_b
    render.tick(store, slow, TOPICS)
    assert lines_of(slow) == ["pay_1:opened"]  # A's stale blob landed last
    assert store.get(render.written_key("dunning", DAY)).value is None
    assert archive.dirty_days(store, TOPICS) == [("dunning", DAY)]
    assert render.tick(store, fast, TOPICS).written == {BLOB: 2}
    assert lines_of(fast) == ["pay_1:opened", "pay_2:opened"]
    assert archive.dirty_days(store, TOPICS) == []


def test_a_replica_that_skips_an_unchanged_day_does_not_clear_a_mark_set_after_a_lost_race() -> None:
    """B skips (record matches) and unmarks after A dropped the record and marked: B's check marks again."""
    store, blobs = MemoryStateStore(), MemoryBlobStore()
    archive.keep(store, "dunning", opened())
    render.tick(store, blobs, TOPICS)
    archive.mark(store, "dunning", DAY)  # a redelivery: B will find the record matching
    key = render.written_key("dunning", DAY)
    original = store.get_many
    dropped: list[bool] = []

    def get_many(keys: Sequence[str]) -> list[StateItem]:
        """B reads the shards; right then A drops the record and marks the day."""
        items = original(keys)
        if not dropped and keys[0].startswith("events:"):
            dropped.append(True)
            store.delete(key)
            archive.mark(store, "dunning", DAY)
        return items

    store.get_many = get_many  # type: ignore[method-assign]
    report = render.tick(store, blobs, TOPICS)
    assert report.unchanged == [BLOB]
    assert archive.dirty_days(store, TOPICS) == [("dunning", DAY)]


def test_a_record_dropped_right_after_ours_was_written_keeps_the_day_dirty() -> None:
    """A replica that lost its race drops the record and marks the day just after our write: not clean."""
    store, blobs = MemoryStateStore(), MemoryBlobStore()
    archive.keep(store, "dunning", opened())
    key = render.written_key("dunning", DAY)
    original = store.get
    reads: list[str] = []

    def get(read: str) -> StateItem:
        """Our re-read of the record comes after the loser's delete and mark."""
        reads.append(read)
        if read == key and reads.count(key) == 2:
            store.delete(key)
            archive.mark(store, "dunning", DAY)
        return original(read)

    store.get = get  # type: ignore[method-assign,assignment]
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 1}
    assert archive.dirty_days(store, TOPICS) == [("dunning", DAY)]
    store.get = original  # type: ignore[method-assign]
    assert render.tick(store, blobs, TOPICS).written == {BLOB: 1}
    assert archive.dirty_days(store, TOPICS) == []
