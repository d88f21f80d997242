"""Topic triggers through the real daprd and the local Redis broker: delivered, retried, dead-lettered."""

from __future__ import annotations

import contextlib
import json
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from bindings.messages import DeadLetter
from tests.integration.helpers import HERE, probe_spec, read_jsonl
from tests.integration.test_framework import dead_letter_for, records
from tooling import deadletters
from tooling.stack import Stack
from tooling.waiting import eventually

PUBSUB, TOPIC, DEAD = "probe-events", "probes", "probes-dead"


@pytest.fixture(scope="module")
def probe(
    stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Stack, Path]:
    """One stack running the probe app subscribed to `probe-events/probes`, behind its daprd."""
    log = tmp_path_factory.mktemp("topics") / "probe.jsonl"
    stack = stack_factory(apps=[probe_spec("probe", log, PROBE_TOPICS="1")], components=HERE / "components")
    return stack, log


def publish(stack: Stack, data: bytes, content_type: str = "application/json") -> None:
    """Publish `data` on the probe topic through the probe's own daprd, as any publisher would."""
    port = stack.apps["probe"].ports.http
    headers = {"Content-Type": content_type}
    if stack.dapr_token:
        headers["dapr-api-token"] = stack.dapr_token
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1.0/publish/{PUBSUB}/{TOPIC}", data=data, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 204


def event(behaviour: str = "ok") -> tuple[str, bytes]:
    """A fresh probe id and its event data."""
    probe_id = uuid.uuid4().hex[:12]
    return probe_id, json.dumps({"version": 1, "id": probe_id, "behaviour": behaviour}).encode()


def dead_topic_ids(stack: Stack) -> list[str]:
    """The ids of the probe events daprd forwarded to the dead-letter topic (its Redis stream)."""
    found = []
    for fields in stack.redis_stream(DEAD):
        cloud_event = json.loads(fields["data"])
        data = cloud_event.get("data")
        found.append(str(data.get("id")) if isinstance(data, dict) else str(data))
    return found


def dead_letter_of(stack: Stack, probe_id: str) -> DeadLetter | None:
    """Our dead-letter record of the probe event `probe_id` (daprd re-encodes the JSON it delivers)."""
    for stored in deadletters.records(stack.blob_service(), stack.resources):
        with contextlib.suppress(ValueError):
            if json.loads(stored.record.body).get("id") == probe_id:
                return stored.record
    return None


def test_an_event_reaches_its_handler_once_with_its_cloudevent_id(probe: tuple[Stack, Path]) -> None:
    """A published event is handled on its first attempt, under the id daprd gave its CloudEvent."""
    stack, log = probe
    probe_id, data = event()
    publish(stack, data)
    [entry] = eventually(lambda: records(log, kind="event", id=probe_id), "the event")
    assert entry["attempt"] == 1
    assert entry["message_id"]


def test_a_failing_handler_is_redelivered_then_dead_lettered_and_forwarded(probe: tuple[Stack, Path]) -> None:
    """Transient failures are handed back by daprd's retry policy; after 3 attempts: our record, the DLT."""
    stack, log = probe
    probe_id, data = event("transient")
    publish(stack, data)
    eventually(lambda: probe_id in dead_topic_ids(stack), "the event on the dead-letter topic", timeout=60)
    attempts = [entry["attempt"] for entry in records(log, kind="event", id=probe_id)]
    assert attempts == [1, 2, 3]
    record = dead_letter_of(stack, probe_id)
    assert record is not None
    assert (record.source, record.kind, record.dequeue_count) == (f"{PUBSUB}/{TOPIC}", "exhausted", 3)


def test_an_invalid_event_is_dead_lettered_with_the_reason_at_once(probe: tuple[Stack, Path]) -> None:
    """Data that is not the model: never handled, our record says why, daprd forwards it."""
    stack, log = probe
    marker = uuid.uuid4().hex[:12]
    text = f"not json {marker}"
    publish(stack, text.encode(), content_type="text/plain")
    record = eventually(lambda: dead_letter_for(stack, text), "the dead letter")
    assert (record.source, record.kind) == (f"{PUBSUB}/{TOPIC}", "invalid")
    assert "ValidationError" in record.reason
    eventually(lambda: text in dead_topic_ids(stack), "the event on the dead-letter topic")
    assert not [entry for entry in read_jsonl(log) if marker in json.dumps(entry)]


def test_a_handler_publishes_through_its_sidecar_with_its_own_event_id(probe: tuple[Stack, Path]) -> None:
    """`DaprPublisher` publishes through daprd; the subscriber sees the id the publisher chose."""
    stack, log = probe
    probe_id, data = event("publish")
    publish(stack, data)
    [echo] = eventually(lambda: records(log, kind="event", id=f"{probe_id}-echo"), "the echo")
    assert (echo["attempt"], echo["message_id"]) == (1, f"{probe_id}-echo")
