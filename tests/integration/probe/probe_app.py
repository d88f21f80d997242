"""A probe function app for the integration tests: records what reaches it in $PROBE_LOG (JSON lines).

The message's `behaviour` chooses what the handler does, so one app exercises every path.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Literal

from bindings.app import CronTick, Delivery, FunctionApp, current_delivery
from bindings.dapr_ports import DaprBlobStore, DaprPublisher, DaprStateStore
from bindings.errors import ConflictError, PermanentError, TransientError
from bindings.events import BlobEvent
from bindings.messages import Message
from bindings.optimistic import retry_conflicts, write_back
from functions.common import stripe, stripe_answers
from functions.common.payments import Later
from functions.common.stripe_gateway import DaprStripeTransport

app = FunctionApp(os.environ.get("PROBE_APP_ID", "probe"), max_attempts=3)
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
        "ok", "transient", "permanent", "blob", "state", "slow", "charge", "contended", "publish"
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
    return delivery


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
    if probe.behaviour == "state":
        state.create(f"probe-{probe.id}", b"first")
        try:
            state.create(f"probe-{probe.id}", b"second")
        except ConflictError:
            record(kind="conflict", id=probe.id, value=state.get(f"probe-{probe.id}").value.decode())  # type: ignore[union-attr]


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


if __name__ == "__main__":
    app.run()
