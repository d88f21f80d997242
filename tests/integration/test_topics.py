"""Topic triggers through the real daprd and the local Redis broker: delivered, retried, dead-lettered.

One event a call on `probes`, batches (bulk delivery) on `probes-bulk`.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bindings.messages import DeadLetter
from tests.integration.helpers import HERE, probe_spec, read_jsonl
from tests.integration.test_framework import dead_letter_for, records
from tooling import deadletters
from tooling.stack import Stack
from tooling.waiting import eventually

PUBSUB, TOPIC, DEAD = "probe-events", "probes", "probes-dead"
BULK_TOPIC, BULK_DEAD = "probes-bulk", "probes-bulk-dead"


@pytest.fixture(scope="module")
def probe(
    stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Stack, Path]:
    """One stack running the probe app subscribed to `probe-events/probes` and `/probes-bulk`."""
    log = tmp_path_factory.mktemp("topics") / "probe.jsonl"
    spec = probe_spec("probe", log, PROBE_TOPICS="1", PROBE_BULK="1")
    stack = stack_factory(apps=[spec], components=HERE / "components")
    return stack, log


def publish(stack: Stack, data: bytes, content_type: str = "application/json", topic: str = TOPIC) -> None:
    """Publish `data` on a probe topic through the probe's own daprd, as any publisher would."""
    port = stack.apps["probe"].ports.http
    headers = {"Content-Type": content_type}
    if stack.dapr_token:
        headers["dapr-api-token"] = stack.dapr_token
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1.0/publish/{PUBSUB}/{topic}", data=data, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 204


def event(behaviour: str = "ok") -> tuple[str, bytes]:
    """A fresh probe id and its event data."""
    probe_id = uuid.uuid4().hex[:12]
    return probe_id, json.dumps({"version": 1, "id": probe_id, "behaviour": behaviour}).encode()


def dead_topic_ids(stack: Stack, dead: str = DEAD) -> list[str]:
    """The ids of the probe events daprd forwarded to a dead-letter topic (its Redis stream)."""
    found = []
    for fields in stack.redis_stream(dead):
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


def batches(stack: Stack) -> list[dict[str, Any]]:
    """The framework's line for each batch the probe handled on the bulk topic, oldest first."""
    lines = []
    for line in stack.apps["probe"].app.log.read_text().splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if (
                isinstance(entry, dict)
                and entry.get("binding") == f"{PUBSUB}/{BULK_TOPIC}"
                and "batch" in entry
            ):
                lines.append(entry)
    return lines


def batched(stack: Stack, before: int, events: int) -> list[dict[str, Any]] | None:
    """The batch lines after the first `before`, once they count `events` (a line follows its batch)."""
    lines = batches(stack)[before:]
    return lines if sum(line["batch"] for line in lines) >= events else None


def test_a_burst_on_a_bulk_topic_arrives_in_batches_each_event_handled_once(
    probe: tuple[Stack, Path],
) -> None:
    """Events published at once reach the handler once each, at attempt 1, in batches of more than one."""
    stack, log = probe
    before = len(batches(stack))
    burst = [event() for _ in range(12)]
    for _, data in burst:
        publish(stack, data, topic=BULK_TOPIC)
    ids = {probe_id for probe_id, _ in burst}
    eventually(lambda: ids <= {entry["id"] for entry in records(log, kind="bulk-event")}, "the whole burst")
    for probe_id in ids:
        [entry] = records(log, kind="bulk-event", id=probe_id)
        assert entry["attempt"] == 1
        assert entry["message_id"]
    lines = eventually(lambda: batched(stack, before, len(ids)), "a line for every batch")
    sizes = [line["batch"] for line in lines]
    assert sum(sizes) == len(ids)  # every event came in a batch (OnBulkTopicEvent), none alone
    assert max(sizes) > 1
    assert [line["success"] for line in lines] == sizes
    # daprd 1.18 calls AppCallback.OnBulkTopicEvent first, and logs it when it must fall back to Alpha1.
    assert "falling back to OnBulkTopicEventAlpha1" not in stack.apps["probe"].daprd.log.read_text()


def test_a_batch_s_events_are_answered_one_by_one_as_single_events(probe: tuple[Stack, Path]) -> None:
    """Handled, retried then exhausted, permanent, invalid: each its own answer and record; none forwarded.

    An event dead-lettered in a batch is acknowledged (SUCCESS): daprd's DROP of a batch entry forwards
    by the wrong index once its retry policy has narrowed the batch (it crashed on the exhausted event).
    """
    stack, log = probe
    before = len(batches(stack))
    ok_id, ok = event()
    transient_id, transient = event("transient")
    permanent_id, permanent = event("permanent")
    text = f"not json {uuid.uuid4().hex[:12]}"
    for data in (ok, transient, permanent):
        publish(stack, data, topic=BULK_TOPIC)
    publish(stack, text.encode(), content_type="text/plain", topic=BULK_TOPIC)
    exhausted = eventually(lambda: dead_letter_of(stack, transient_id), "the exhausted event's dead letter")
    failed = eventually(lambda: dead_letter_of(stack, permanent_id), "the permanent failure's dead letter")
    invalid = eventually(lambda: dead_letter_for(stack, text), "the invalid event's dead letter")
    source = f"{PUBSUB}/{BULK_TOPIC}"
    assert (exhausted.source, exhausted.kind, exhausted.dequeue_count) == (source, "exhausted", 3)
    assert (failed.source, failed.kind, failed.dequeue_count) == (source, "permanent", 1)
    assert (invalid.source, invalid.kind) == (source, "invalid")
    attempts = {probe_id: [entry["attempt"] for entry in records(log, kind="bulk-event", id=probe_id)]
                for probe_id in (ok_id, transient_id, permanent_id)}  # fmt: skip
    assert attempts == {ok_id: [1], transient_id: [1, 2, 3], permanent_id: [1]}
    lines = eventually(lambda: batched(stack, before, 4 + 2), "a line for every batch")  # 2: the retries
    assert sum(line["retry"] for line in lines) == 2  # the transient event came back in batches too
    assert sum(line["drop"] for line in lines) == 3
    assert sum(line["success"] for line in lines) == 1
    time.sleep(1)  # daprd would forward a DROP at once
    assert dead_topic_ids(stack, BULK_DEAD) == []
    assert stack.apps["probe"].daprd.alive()
    assert "panic" not in stack.apps["probe"].daprd.log.read_text()


def delivered(log: Path, event_id: str) -> list[str]:
    """The data (base64) of each delivery of the CloudEvent `event_id` to the probe, as daprd gave it."""
    return [entry["data"] for entry in records(log, kind="topic-data", event_id=event_id)]


def stored_record(stack: Stack, record_id: str) -> deadletters.Stored | None:
    """The stored dead letter `record_id`, with its blob, if it is there."""
    found = deadletters.records(stack.blob_service(), stack.resources)
    return next((stored for stored in found if stored.record.id == record_id), None)


def redrive(stack: Stack, stored: deadletters.Stored) -> str:
    """`bindery dead-letters redrive` of one record on this stack: where it went."""
    return deadletters.redrive(stored, stack.blob_service(), stack.queue_service(), stack.resources)


def test_a_topic_dead_letter_redriven_reaches_its_handler_with_its_bytes_and_cloudevent_id(
    probe: tuple[Stack, Path],
) -> None:
    """Dead-lettered for good, then redriven once the handler takes it: the same bytes, the same id."""
    stack, log = probe
    probe_id = uuid.uuid4().hex[:12]
    tricky = 'a <b> & "c" \u2028 \b é 😀'  # what Go's encoding escapes, and what it writes as UTF-8
    gated = {"version": 1, "id": probe_id, "behaviour": "gated", "customer": tricky}
    publish(stack, json.dumps(gated).encode())
    record = eventually(lambda: dead_letter_of(stack, probe_id), "the gated event's dead letter")
    assert (record.source, record.kind) == (f"{PUBSUB}/{TOPIC}", "permanent")
    assert record.message_id
    first = DeadLetter.encode_body(record.body)
    assert delivered(log, record.message_id) == [first]  # the record keeps the bytes the app was given
    stored = stored_record(stack, record.id)
    assert stored is not None
    (log.with_name(f"{probe_id}.open")).touch()  # the handler takes it from now on
    assert redrive(stack, stored) == f"{PUBSUB}/{TOPIC}"
    assert stored_record(stack, record.id) is None
    again = eventually(lambda: records(log, kind="event", id=probe_id)[1:], "the redriven event")
    assert [(entry["attempt"], entry["message_id"]) for entry in again] == [(1, record.message_id)]
    assert delivered(log, record.message_id) == [first, first]
    time.sleep(1)  # had the handler failed, its record would be written by now
    assert dead_letter_of(stack, probe_id) is None
    assert dead_topic_ids(stack).count(probe_id) == 1  # forwarded the first time only


def test_a_redriven_topic_event_arrives_byte_for_byte_whatever_its_body(probe: tuple[Stack, Path]) -> None:
    """JSON as daprd writes it, JSON it would re-encode, text, bytes that are not text: each exactly."""
    stack, log = probe
    container = stack.blob_service().get_container_client(deadletters.container_name(stack.resources))
    bodies = [
        '{"a":[1,1e-7,"\\u003cé\\u2028"],"id":"canonical"}'.encode(),  # sent as JSON data
        b'{"id": "spaced", "n": 1.50}',  # daprd would write it without the spaces: sent as text
        "text é \u2028 <&>".encode(),
        b"\xff\xfe not text \x00",  # sent as data_base64
    ]
    sent = {}
    for body in bodies:
        message_id = f"redrive-{uuid.uuid4().hex[:12]}"
        record = DeadLetter.model_validate(
            {"id": uuid.uuid4().hex, "app": "probe", "source": f"{PUBSUB}/{TOPIC}", "reason": "made up",
             "kind": "invalid", "dequeue_count": 1, "message_id": message_id,
             "dead_lettered_at": "2026-01-01T00:00:00Z", "body_b64": DeadLetter.encode_body(body)}
        )  # fmt: skip
        blob = f"redrive-test/{record.id}.json"
        container.upload_blob(blob, record.model_dump_json().encode())
        assert redrive(stack, deadletters.Stored(blob=blob, record=record)) == f"{PUBSUB}/{TOPIC}"
        assert not container.get_blob_client(blob).exists()
        sent[message_id] = DeadLetter.encode_body(body)
    eventually(lambda: all(delivered(log, message_id) for message_id in sent), "each event at the app")
    assert {message_id: delivered(log, message_id) for message_id in sent} == {
        message_id: [data] for message_id, data in sent.items()
    }
