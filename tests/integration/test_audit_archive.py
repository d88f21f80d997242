"""The audit archive through the real daprd, Redis and Azurite: each event once in its day's blob."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from functions.audit_archive.archive import Dirty
from functions.audit_archive.render import blob_name
from functions.common import domain_events, names
from functions.common.domain_events import DunningEvent
from tests.integration.helpers import publish_event
from tests.integration.test_stripe_webhook import log_lines
from tooling import state_reader
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """The audit archive alone, its tick every second, on the local broker and Azurite."""
    archive = AppSpec(names.AUDIT_ARCHIVE, "functions.audit_archive.app")
    return stack_factory(apps=[archive], values={"ARCHIVE_TICK_SCHEDULE": "@every 1s"})


def publish(stack: Stack, event: dict[str, object], topic: str) -> None:
    """Publish an event on `topic` through the archive's own daprd, as its publisher's would."""
    publish_event(stack, names.AUDIT_ARCHIVE, topic, event)


def archived(stack: Stack, topic: str, day: date) -> list[dict[str, object]]:
    """The lines of the archive's blob of `topic` on `day` (none before it is written)."""
    blob = stack.blob_service().get_container_client(names.AUDIT).get_blob_client(blob_name(topic, day))
    if not blob.exists():
        return []
    return [json.loads(line) for line in blob.download_blob().readall().decode().splitlines()]


def dirty(stack: Stack) -> list[date]:
    """Every day still to render, of every topic, read from the archive's store."""
    database = stack.config.root / "state" / "archive.db"
    rows = list(state_reader.values(database, names.AUDIT_ARCHIVE, "dirty:"))
    assert sorted(key for key, _ in rows) == ["dirty:dunning", "dirty:email"]
    return [day for _, value in rows for day in Dirty.model_validate_json(value).days]


def opened(case_id: str, at: datetime) -> dict[str, object]:
    """A `case.opened` dunning event of `case_id` at `at`."""
    return {
        "type": "case.opened", "version": 1, "event_id": f"{case_id}:opened", "case_id": case_id,
        "customer_id": "cus_audit", "occurred_at": at.isoformat(), "amount": 700, "currency": "SEK",
    }  # fmt: skip


def test_each_event_lands_once_in_its_days_blob_however_often_it_is_published(stack: Stack) -> None:
    """Three cases today (one published twice), one yesterday, an email: each line once, in order."""
    now = datetime.now(UTC).replace(microsecond=0)
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    run = uuid.uuid4().hex[:8]
    events = [opened(f"pay_{run}_{n}", now - timedelta(seconds=n)) for n in range(3)]
    late = opened(f"pay_{run}_late", now - timedelta(days=1))
    for event in (*events, events[0], late):
        publish(stack, event, domain_events.DUNNING)
    mail = {
        "type": "email.sent", "version": 1, "event_id": f"req-{run}:sent", "request_id": f"req-{run}",
        "template": "reminder", "occurred_at": now.isoformat(),
    }  # fmt: skip
    publish(stack, mail, domain_events.EMAIL)

    def ours(topic: str, day: date) -> list[str]:
        return [str(line["event_id"]) for line in archived(stack, topic, day) if run in str(line["event_id"])]

    expected = [str(event["event_id"]) for event in reversed(events)]  # oldest first
    eventually(lambda: ours(domain_events.DUNNING, today) == expected, "today's dunning blob", timeout=60)
    eventually(lambda: ours(domain_events.DUNNING, yesterday) == [late["event_id"]], "yesterday's blob")
    eventually(lambda: ours(domain_events.EMAIL, today) == [mail["event_id"]], "today's email blob")

    def seen_again() -> bool:
        lines = log_lines(stack, names.AUDIT_ARCHIVE)
        return any(line["message"] == f"archived already: {events[0]['event_id']}" for line in lines)

    eventually(seen_again, "the second publication handled")
    lines = archived(stack, domain_events.DUNNING, today)
    assert len({line["event_id"] for line in lines}) == len(lines)  # no event twice in the blob
    (first,) = [line for line in lines if line["event_id"] == events[0]["event_id"]]
    assert DunningEvent.model_validate(first) == DunningEvent.model_validate(events[0])
    eventually(lambda: not dirty(stack), "every day rendered and left clean")  # the ETag checks agree
