"""audit-archive's handlers: one subscription per topic of its table, events kept, the tick writing blobs."""

from __future__ import annotations

import logging

import pytest

from bindings.app import TopicStatus
from bindings.errors import TransientError
from bindings.testing import MemoryBlobStore, MemoryStateStore
from functions.audit_archive import app as audit
from functions.audit_archive import archive
from functions.common import domain_events, names
from tests.unit.audit_archive.events import DAY, opened, sent


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> tuple[MemoryStateStore, MemoryBlobStore]:
    """The app's state and blob stores, in memory."""
    store, blobs = MemoryStateStore(), MemoryBlobStore()
    monkeypatch.setattr(audit, "store", store)
    monkeypatch.setattr(audit, "blobs", blobs)
    return store, blobs


def test_the_app_subscribes_to_each_topic_of_its_table_and_ticks_on_its_cron() -> None:
    """Every domain-events topic, each with its `{topic}-dead`; the archive tick its only binding."""
    topics = [domain_events.DUNNING, domain_events.EMAIL, domain_events.DOCUMENTS, domain_events.DEAD_LETTERS]
    assert list(audit.TOPICS) == topics
    found = [(s.pubsub, s.topic, s.dead_letter_topic) for s in audit.app.subscriptions]
    assert found == [(names.DOMAIN_EVENTS, topic, f"{topic}-dead") for topic in audit.TOPICS]
    assert audit.app.bindings == (names.ARCHIVE_TICK,)


def test_events_through_the_app_are_kept_once_and_written_by_the_tick(
    stores: tuple[MemoryStateStore, MemoryBlobStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A dunning event twice and an email event: both kept once, the second logged; one blob a topic."""
    store, blobs = stores
    caplog.set_level(logging.INFO, logger=audit.__name__)
    event, mail = opened(), sent()
    for topic, item in ((domain_events.DUNNING, event), (domain_events.DUNNING, event), ("email", mail)):
        data = item.model_dump_json().encode()
        status = audit.app.handle_topic(names.DOMAIN_EVENTS, topic, item.event_id, data)
        assert status is TopicStatus.SUCCESS
    assert f"archived already: {event.event_id}" in caplog.messages
    assert archive.dirty_days(store, audit.TOPICS) == [("dunning", DAY), ("email", DAY)]
    audit.on_tick(None)  # type: ignore[arg-type]
    assert blobs.get("2026/12/06/dunning.jsonl") == event.model_dump_json().encode() + b"\n"
    assert blobs.get("2026/12/06/email.jsonl") == mail.model_dump_json().encode() + b"\n"
    assert archive.dirty_days(store, audit.TOPICS) == []


def test_a_tick_with_a_failed_day_fails_so_the_framework_logs_and_counts_it(
    stores: tuple[MemoryStateStore, MemoryBlobStore],
) -> None:
    """The blob write fails: the tick raises a TransientError naming the day, which stays dirty."""
    store, blobs = stores
    archive.keep(store, domain_events.DUNNING, opened())
    blobs.fail = TransientError("storage unavailable")
    with pytest.raises(TransientError, match=r"2026/12/06/dunning\.jsonl: TransientError"):
        audit.on_tick(None)  # type: ignore[arg-type]
    assert archive.dirty_days(store, audit.TOPICS) == [("dunning", DAY)]
