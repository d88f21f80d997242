"""The framework through the real daprd and Azurite: triggers, retries, dead letters, tokens, outputs."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from dapr.proto import appcallback_service_v1
from google.protobuf import empty_pb2

from bindings.messages import DeadLetter
from tests.integration.helpers import HERE, probe_spec, read_jsonl
from tooling import deadletters, upload
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def probe(
    stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Stack, Path]:
    """One stack running the probe app behind its daprd, with 1 s visibility and 100 ms polling."""
    log = tmp_path_factory.mktemp("probe") / "probe.jsonl"
    stack = stack_factory(apps=[probe_spec("probe", log)], components=HERE / "components")
    return stack, log


def send(stack: Stack, queue: str, text: str) -> None:
    """Put a message on a queue as another service would (plain text, no encoding by us)."""
    stack.queue_service().get_queue_client(queue).send_message(text)


def probe_message(behaviour: str = "ok") -> tuple[str, str]:
    """A fresh probe message id and its JSON text."""
    probe_id = uuid.uuid4().hex[:12]
    return probe_id, json.dumps({"version": 1, "id": probe_id, "behaviour": behaviour})


def records(log: Path, **match: Any) -> list[dict[str, Any]]:
    """Probe records whose fields equal `match`."""
    return [
        entry for entry in read_jsonl(log) if all(entry.get(key) == value for key, value in match.items())
    ]


def dead_letter_for(stack: Stack, text: str) -> DeadLetter | None:
    """The dead letter whose original body is `text`, if any."""
    for stored in deadletters.records(stack.blob_service(), stack.resources):
        if stored.record.body == text.encode():
            return stored.record
    return None


def test_a_cron_tick_reaches_its_handler(probe: tuple[Stack, Path]) -> None:
    """Daprd's cron binding calls the app's @cron handler, repeatedly."""
    _, log = probe
    eventually(lambda: len(records(log, kind="tick", app="probe")) >= 2, "two ticks")


def test_a_queue_message_reaches_its_handler_with_its_dequeue_count(probe: tuple[Stack, Path]) -> None:
    """A plain JSON message is parsed into its model and the handler sees attempt 1 and the message id."""
    stack, log = probe
    probe_id, text = probe_message()
    send(stack, "probe-in", text)
    [entry] = eventually(lambda: records(log, kind="message", id=probe_id), "the message")
    assert entry["attempt"] == 1
    assert entry["message_id"]


def test_a_failing_handler_is_redelivered_then_dead_lettered_after_n(probe: tuple[Stack, Path]) -> None:
    """A TransientError leaves the message queued; attempts 1..3 run, then it is dead-lettered."""
    stack, log = probe
    probe_id, text = probe_message("transient")
    send(stack, "probe-in", text)
    record = eventually(lambda: dead_letter_for(stack, text), "the dead letter", timeout=45)
    assert [entry["attempt"] for entry in records(log, kind="message", id=probe_id)] == [1, 2, 3]
    assert (record.kind, record.dequeue_count, record.source, record.app) == (
        "exhausted",
        3,
        "probe-in",
        "probe",
    )
    assert "asked to fail for now" in record.reason


def test_a_permanent_error_is_dead_lettered_on_the_first_attempt(probe: tuple[Stack, Path]) -> None:
    """A PermanentError is not retried."""
    stack, log = probe
    probe_id, text = probe_message("permanent")
    send(stack, "probe-in", text)
    record = eventually(lambda: dead_letter_for(stack, text), "the dead letter")
    assert (record.kind, record.dequeue_count) == ("permanent", 1)
    assert len(records(log, kind="message", id=probe_id)) == 1


def test_a_malformed_payload_is_dead_lettered_at_once_and_the_next_message_flows(
    probe: tuple[Stack, Path],
) -> None:
    """Garbage never reaches the handler, is dead-lettered on attempt 1, and does not block what follows."""
    stack, log = probe
    garbage = f"{{not json {uuid.uuid4().hex}"
    send(stack, "probe-in", garbage)
    probe_id, text = probe_message()
    send(stack, "probe-in", text)
    eventually(lambda: records(log, kind="message", id=probe_id), "the good message")
    record = eventually(lambda: dead_letter_for(stack, garbage), "the dead letter")
    assert (record.kind, record.dequeue_count) == ("invalid", 1)
    assert "not JSON" in record.reason


def test_a_dead_letter_redriven_goes_back_to_its_queue_byte_for_byte(probe: tuple[Stack, Path]) -> None:
    """Redrive puts the original body on the source queue and removes the record."""
    stack, _ = probe
    garbage = f"redrive me {uuid.uuid4().hex}"
    send(stack, "probe-in", garbage)
    eventually(lambda: dead_letter_for(stack, garbage), "the dead letter")
    [stored] = [
        s
        for s in deadletters.records(stack.blob_service(), stack.resources)
        if s.record.body == garbage.encode()
    ]
    assert (
        deadletters.redrive(stored, stack.blob_service(), stack.queue_service(), stack.resources)
        == "probe-in"
    )
    again = eventually(
        lambda: [
            s
            for s in deadletters.records(stack.blob_service(), stack.resources)
            if s.record.body == garbage.encode() and s.blob != stored.blob
        ],
        "the redriven message to be dead-lettered again",
    )
    assert again[0].record.kind == "invalid"


def _list_bindings(stack: Stack, metadata: tuple[tuple[str, str], ...]) -> list[str]:
    port = stack.apps["probe"].ports.app
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = appcallback_service_v1.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
        return list(stub.ListInputBindings(empty_pb2.Empty(), metadata=metadata, timeout=5).bindings)


@pytest.mark.parametrize("metadata", [(), (("dapr-api-token", "wrong"),)], ids=["missing", "wrong"])
def test_calls_to_the_app_without_the_right_token_are_refused(
    probe: tuple[Stack, Path], metadata: tuple[tuple[str, str], ...]
) -> None:
    """With APP_API_TOKEN set, a call without the matching dapr-api-token gets PERMISSION_DENIED."""
    stack, _ = probe
    with pytest.raises(grpc.RpcError) as caught:
        _list_bindings(stack, metadata)
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert stack.app_token is not None
    assert "probe-in" in _list_bindings(stack, (("dapr-api-token", stack.app_token),))


def test_a_sidecar_with_the_wrong_token_delivers_nothing(probe: tuple[Stack, Path], tmp_path: Path) -> None:
    """An app whose daprd presents another token refuses its ticks, and logs each refusal."""
    stack, _ = probe
    log = tmp_path / "denied.jsonl"
    denied = stack.start_app(
        probe_spec("probe-denied", log, PROBE_TICK="probe-denied-tick"), daprd_app_token="wrong"
    )
    eventually(
        lambda: "refused /dapr.proto.runtime.v1.AppCallback/OnBindingEvent" in denied.app.log.read_text(),
        "a refused tick in the app log",
    )
    assert not records(log, kind="tick")


def test_a_blob_written_through_the_output_binding_is_readable_in_azurite(probe: tuple[Stack, Path]) -> None:
    """The documents binding writes the blob Azurite then serves."""
    stack, log = probe
    probe_id, text = probe_message("blob")
    send(stack, "probe-in", text)
    eventually(lambda: records(log, kind="message", id=probe_id), "the message")
    blob = stack.blob_service().get_blob_client("documents", f"probe/{probe_id}.txt")
    eventually(blob.exists, "the blob")
    assert blob.download_blob().readall() == probe_id.encode()
    assert blob.get_blob_properties().content_settings.content_type == "text/plain"


def blob_created(path: str) -> str:
    """A BlobCreated event for `container/blob`, base64 as Event Grid writes it to a queue."""
    container, blob = path.split("/", 1)
    return upload.queue_text(upload.blob_created(container, blob, url=f"http://127.0.0.1/{path}"))


def test_blob_created_events_under_the_prefix_reach_the_handler(probe: tuple[Stack, Path]) -> None:
    """A base64 Event Grid message under the prefix is handled; one elsewhere is acknowledged and ignored."""
    stack, log = probe
    other = f"documents/elsewhere/{uuid.uuid4().hex}.json"
    wanted = f"documents/incoming/{uuid.uuid4().hex}.json"
    send(stack, "probe-blob-events", blob_created(other))
    send(stack, "probe-blob-events", blob_created(wanted))
    eventually(lambda: records(log, kind="blob", path=wanted), "the wanted event")
    assert not records(log, kind="blob", path=other)
    queue = stack.queue_service().get_queue_client("probe-blob-events")
    eventually(lambda: queue.get_queue_properties().approximate_message_count == 0, "the queue to drain")


def test_first_write_conflicts_surface_as_conflict_errors(probe: tuple[Stack, Path]) -> None:
    """StateStore.create through the real sqlite store refuses an existing key with ConflictError."""
    stack, log = probe
    probe_id, text = probe_message("state")
    send(stack, "probe-in", text)
    [entry] = eventually(lambda: records(log, kind="conflict", id=probe_id), "the conflict")
    assert entry["value"] == "first"


def test_a_state_transaction_writes_every_key_or_none(probe: tuple[Stack, Path]) -> None:
    """StateStore.transact on the real sqlite store: written together; a failed guard writes neither key."""
    stack, log = probe
    probe_id, text = probe_message("transaction")
    send(stack, "probe-in", text)
    [entry] = eventually(lambda: records(log, kind="transaction", id=probe_id), "the transactions")
    assert entry["outcomes"] == ["conflict", "conflict"]
    assert entry["values"] == ["two", "2"]


def test_contention_past_the_retry_budget_is_redelivered_then_handled(probe: tuple[Stack, Path]) -> None:
    """Delivery 1 loses every ETag race in daprd: redelivered (dequeueCount 2), then won; no dead letter."""
    stack, log = probe
    probe_id, text = probe_message("contended")
    send(stack, "probe-in", text)
    [done] = eventually(lambda: records(log, kind="handled", id=probe_id), "the handled message", timeout=45)
    assert done["value"] == "ours"
    assert [entry["attempt"] for entry in records(log, kind="message", id=probe_id)] == [1, 2]
    assert dead_letter_for(stack, text) is None


def test_sigterm_lets_the_handler_in_flight_finish_and_acknowledge(
    probe: tuple[Stack, Path], tmp_path: Path
) -> None:
    """On SIGTERM the app stops taking work, finishes the running handler, exits 0; the message is gone."""
    stack, _ = probe
    log = tmp_path / "drain.jsonl"
    drain = stack.start_app(probe_spec("probe-drain", log, PROBE_QUEUE="probe-drain-in", PROBE_TICK="none"))
    probe_id, text = probe_message("slow")
    send(stack, "probe-drain-in", text)
    eventually(lambda: records(log, kind="message", id=probe_id), "the slow handler to start")
    drain.app.popen.send_signal(signal.SIGTERM)
    assert drain.app.popen.wait(20) == 0
    assert records(log, kind="done", id=probe_id)
    queue = stack.queue_service().get_queue_client("probe-drain-in")
    eventually(
        lambda: queue.get_queue_properties().approximate_message_count == 0, "the message to be deleted"
    )
    assert '"message": "drained"' in drain.app.log.read_text()


def ledger(stack: Stack) -> list[dict[str, Any]]:
    """The processor sandbox's charges."""
    return read_jsonl(stack.ledger)


def test_charges_through_the_http_binding_carry_the_idempotency_key(probe: tuple[Stack, Path]) -> None:
    """A charge reaches the sandbox with its key; the same message again replays it, charging once."""
    stack, log = probe
    probe_id = uuid.uuid4().hex[:12]
    text = json.dumps({"version": 1, "id": probe_id, "behaviour": "charge", "customer": "cus_ok_1"})
    send(stack, "probe-in", text)
    send(stack, "probe-in", text)
    eventually(lambda: len(records(log, kind="charged", id=probe_id)) == 2, "two charge answers")
    charged = records(log, kind="charged", id=probe_id)
    assert [entry["status"] for entry in charged] == [200, 200]
    assert charged[0]["body"] == charged[1]["body"]
    assert [line["key"] for line in ledger(stack) if line["case_id"] == probe_id] == [f"{probe_id}:1"]


def test_a_decline_arrives_with_its_body(probe: tuple[Stack, Path]) -> None:
    """A 402 is returned, not raised: the decline code survives the binding."""
    stack, log = probe
    probe_id = uuid.uuid4().hex[:12]
    send(
        stack,
        "probe-in",
        json.dumps({"version": 1, "id": probe_id, "behaviour": "charge", "customer": "cus_soft_1"}),
    )
    [entry] = eventually(lambda: records(log, kind="charged", id=probe_id), "the decline")
    assert entry["status"] == 402
    assert entry["body"]["error"]["decline_code"] == "insufficient_funds"


def test_processor_errors_are_transient_and_retried_with_the_same_key(probe: tuple[Stack, Path]) -> None:
    """A 500 raises TransientError: the message is redelivered, then dead-lettered; nothing is charged."""
    stack, _ = probe
    probe_id = uuid.uuid4().hex[:12]
    text = json.dumps({"version": 1, "id": probe_id, "behaviour": "charge", "customer": "cus_5xx_1"})
    send(stack, "probe-in", text)
    record = eventually(lambda: dead_letter_for(stack, text), "the dead letter", timeout=45)
    assert (record.kind, record.dequeue_count) == ("exhausted", 3)
    assert "Stripe answered 500" in record.reason
    assert not [line for line in ledger(stack) if line["case_id"] == probe_id]
