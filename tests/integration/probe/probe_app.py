"""A probe function app for the integration tests: records what reaches it in $PROBE_LOG (JSON lines).

The message's `behaviour` chooses what the handler does, so one app exercises every path.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from typing import Literal

from bindings.app import BulkDelivery, CronTick, Delivery, FunctionApp, current_delivery
from bindings.dapr_ports import DaprBlobStore, DaprPublisher, DaprStateStore
from bindings.errors import ConflictError, PermanentError, TransientError
from bindings.events import BlobEvent
from bindings.messages import Message
from bindings.optimistic import retry_conflicts, write_back
from bindings.ports import Write
from bindings.topics import TopicStatus
from functions.common import stripe, stripe_answers
from functions.common.payments import Later
from functions.common.stripe_gateway import DaprStripeTransport


class ProbeApp(FunctionApp):
    """The framework's app; each topic event's data is recorded as daprd handed it over (base64)."""

    def handle_topic(self, pubsub: str, topic: str, event_id: str, data: bytes) -> TopicStatus:
        """Record `data` with the CloudEvent id (kind `topic-data`), then handle the event."""
        record(kind="topic-data", event_id=event_id, data=base64.b64encode(data).decode())
        return super().handle_topic(pubsub, topic, event_id, data)


app = ProbeApp(os.environ.get("PROBE_APP_ID", "probe"), max_attempts=3)
documents = DaprBlobStore("documents")
state = DaprStateStore("statestore")
gateway = DaprStripeTransport("probe-gateway")
events = DaprPublisher("probe-events")
_lock = threading.Lock()


class Probe(Message):
    """What a test asks the probe to do."""

    version: Literal[1] = 1
    id: str
    behaviour: Literal[
        "ok",
        "transient",
        "permanent",
        "blob",
        "state",
        "slow",
        "charge",
        "contended",
        "publish",
        "gated",
        "transaction",
    ] = "ok"
    customer: str = ""


def record(**fields: object) -> None:
    """Append one JSON line to the probe log."""
    with _lock, open(os.environ["PROBE_LOG"], "a", encoding="utf-8") as log:  # noqa: PTH123
        log.write(json.dumps({"app": app.name, **fields}) + "\n")


def recorded(kind: str, probe: Probe) -> Delivery:
    """Record `probe` as `kind` with its delivery; fail as it asks (`transient`, `permanent`)."""
    delivery = current_delivery()
    assert delivery is not None
    record(kind=kind, id=probe.id, attempt=delivery.attempt, message_id=delivery.message_id)
    if probe.behaviour == "transient":
        raise TransientError(f"{probe.id}: asked to fail for now")
    if probe.behaviour == "permanent":
        raise PermanentError(f"{probe.id}: asked to fail for good")
    if probe.behaviour == "gated" and not gate(probe.id).exists():
        raise PermanentError(f"{probe.id}: fails for good until its gate file exists")
    return delivery


def gate(probe_id: str) -> Path:
    """The file whose existence lets a `gated` probe through: `{probe_id}.open` beside the probe log."""
    return Path(os.environ["PROBE_LOG"]).with_name(f"{probe_id}.open")


@app.cron(os.environ.get("PROBE_TICK", "probe-tick"))
def on_tick(tick: CronTick) -> None:
    """Record the tick."""
    record(kind="tick", binding=tick.binding)


@app.queue(os.environ.get("PROBE_QUEUE", "probe-in"), model=Probe)
def on_probe(probe: Probe) -> None:
    """Record the message with its delivery, then behave as asked."""
    delivery = recorded("message", probe)
    if probe.behaviour == "charge":
        request = stripe.create_payment_intent(
            case_id=probe.id, attempt=1, amount=1250, currency="eur", customer=probe.customer
        )
        answer = gateway.send(request)
        if isinstance(later := stripe_answers.read_answer(answer, "payment_intent"), Later):
            raise TransientError(f"{probe.id}: {later.reason}")
        record(kind="charged", id=probe.id, status=answer.status, body=json.loads(answer.body))
    if probe.behaviour == "slow":
        time.sleep(2)
        record(kind="done", id=probe.id)
    if probe.behaviour == "blob":
        documents.put(f"probe/{probe.id}.txt", probe.id.encode(), content_type="text/plain")
    if probe.behaviour == "contended":
        contend(f"probe-{probe.id}", rival=delivery.attempt == 1)
        record(kind="handled", id=probe.id, value=state.get(f"probe-{probe.id}").value.decode())  # type: ignore[union-attr]
    if probe.behaviour == "transaction":
        transactions(probe.id)
    if probe.behaviour == "state":
        state.create(f"probe-{probe.id}", b"first")
        try:
            state.create(f"probe-{probe.id}", b"second")
        except ConflictError:
            record(kind="conflict", id=probe.id, value=state.get(f"probe-{probe.id}").value.decode())  # type: ignore[union-attr]


def transactions(probe_id: str) -> None:
    """Two keys written together, then two transactions whose guard fails: neither key changes."""
    ids, totals = f"probe-{probe_id}-ids", f"probe-{probe_id}-totals"
    state.transact([Write.replacing(state.get(ids), b"one"), Write(totals, b"1")])
    stale = state.get(ids)
    state.transact([Write.replacing(stale, b"two"), Write(totals, b"2")])
    outcomes = []
    for guard in (stale, state.get(ids)._replace(etag=None)):  # an old ETag; insert-only on an existing key
        try:
            state.transact([Write.replacing(guard, b"lost"), Write(totals, b"lost")])
            outcomes.append("written")
        except ConflictError:
            outcomes.append("conflict")
    values = [item.value.decode() if item.value else None for item in state.get_many([ids, totals])]
    record(kind="transaction", id=probe_id, outcomes=outcomes, values=values)


def contend(key: str, *, rival: bool) -> None:
    """A read-modify-write of `key`; with `rival`, another write lands between every read and write-back."""

    def once() -> None:
        item = state.get(key)
        if rival:
            write_back(state, item, b"rival")
        write_back(state, item, b"ours")  # the ETag (or the absence) read above no longer holds

    retry_conflicts(once, tries=2)


@app.blob_created("probe-blobs", prefix="documents/incoming/")
def on_blob(event: BlobEvent) -> None:
    """Record the storage event."""
    record(kind="blob", id=event.id, path=event.path)


def on_probe_event(probe: Probe) -> None:
    """A topic event: recorded with its delivery, then behaves as asked; `publish` publishes an echo."""
    recorded("event", probe)
    if probe.behaviour == "publish":
        events.publish("probes", Probe(id=f"{probe.id}-echo"), event_id=f"{probe.id}-echo")


if os.environ.get("PROBE_TOPICS") == "1":  # only the stacks whose components hold probe-events
    app.topic("probe-events", "probes", model=Probe)(on_probe_event)


def on_bulk_probe_event(probe: Probe) -> None:
    """A topic event delivered in a batch: recorded as `bulk-event`, then behaves as asked."""
    recorded("bulk-event", probe)


if os.environ.get("PROBE_BULK") == "1":  # a second topic of probe-events, delivered in batches
    # At most 4 a batch: daprd's default batcher (pubsub.redis has no bulk subscribe of its own) holds
    # only the events the component hands over at once, its `concurrency` (4): a larger bound would
    # never be reached, and every batch would wait out max_await_ms.
    bulk = BulkDelivery(max_messages=4, max_await_ms=500)
    app.topic("probe-events", "probes-bulk", model=Probe, bulk=bulk)(on_bulk_probe_event)


if __name__ == "__main__":
    app.run()
