"""A steady stream of good work on every input queue, kept going through outages, and a record of it.

Each round sends one payment failure (charged on the next tick), one email request, one receipt
request, one order upload with its BlobCreated event (`tooling.upload`), and one signed webhook
batch. A send that fails (Azurite or the webhook's sidecar down) is retried, as a producer would,
until it succeeds; only then is the message counted as sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from functions.common import names
from tests.integration.helpers import midday_zone, post_webhook
from tests.reliability import goods
from tooling import upload, webhook_keys
from tooling.stack import Stack

KINDS = frozenset({"payment", "email", "receipt", "order", "webhook"})  # the work a round may send
RETRY_FOR = 120.0  # a producer gives up on one message after this long (longer than any outage here)


def webhook_events(i: int) -> list[dict[str, Any]]:
    """The events of good webhook batch `i`: processed and delivered for request `wh-TAG-i`."""
    stamp = int(time.time())
    return [
        {"email": f"wh-{goods.TAG}-{i}@example.com", "timestamp": stamp + n, "event": kind,
         "sg_event_id": f"sg-{goods.TAG}-{i}-{kind}", "request_id": f"wh-{goods.TAG}-{i}"}
        for n, kind in enumerate(("processed", "delivered"))
    ]  # fmt: skip


@dataclass
class Sent:
    """What the feeder got onto the queues (and the webhook), and the effects each must have, by kind."""

    payments: list[str] = field(default_factory=list)  # payment ids (= case ids): one charge each
    mails: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind -> address -> request ids
    pdfs: dict[str, list[str]] = field(default_factory=dict)  # kind -> blob base names
    batches: dict[str, list[str]] = field(default_factory=dict)  # request id -> sg_event_ids
    retries: int = 0  # sends that had to be repeated
    gave_up: list[str] = field(default_factory=list)

    def expect(self, kind: str, address: str, requests: list[str], pdf: str | None = None) -> None:
        """Record that `kind` work sent mails `requests` to `address` and stores the PDF `pdf`."""
        self.mails.setdefault(kind, {})[address] = requests
        self.pdfs.setdefault(kind, [])
        if pdf is not None:
            self.pdfs[kind].append(pdf)


class Feeder(threading.Thread):
    """Sends a round of good work every `interval` seconds until stopped."""

    def __init__(self, stack: Stack, folder: Path, interval: float, kinds: frozenset[str] = KINDS) -> None:
        super().__init__(name="feeder", daemon=True)
        self.stack, self.folder, self.interval, self.kinds = stack, folder, interval, kinds
        self.sent = Sent()
        self.zone = midday_zone(datetime.now(UTC))
        self._halt = threading.Event()
        self._key = webhook_keys.load_or_create(stack.webhook_key)
        # No SDK retries (they back off for up to a minute): `_deliver` retries every half second.
        assert stack.azurite is not None
        connection = stack.azurite.connection_string
        self._queues = QueueServiceClient.from_connection_string(connection, retry_total=0)
        self._blobs = BlobServiceClient.from_connection_string(connection, retry_total=0)

    def stop(self) -> None:
        """Finish the current round, then return."""
        self._halt.set()
        self.join(RETRY_FOR * 5)

    def run(self) -> None:
        """Send rounds until stopped."""
        i = 0
        while not self._halt.is_set():
            started = time.monotonic()
            self._round(i)
            i += 1
            self._halt.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _round(self, i: int) -> None:
        queues, blobs = self._queues, self._blobs

        def enqueue(queue: str, body: dict[str, Any]) -> Callable[[], bool]:
            return lambda: bool(queues.get_queue_client(queue).send_message(json.dumps(body)))

        payment = {**goods.payment(i), "timezone": self.zone}
        case = str(payment["payment_id"])
        if "payment" in self.kinds and self._deliver(f"payment {i}", enqueue(names.PAYMENT_EVENTS, payment)):
            self.sent.payments.append(case)
            mails = [f"{case}:payment_failed:0", f"{case}:recovered:1", f"receipt:{case}"]
            self.sent.expect("payment", str(payment["email"]), mails, f"{case}-v1.pdf")
        email = goods.email(i)
        if "email" in self.kinds and self._deliver(f"email {i}", enqueue(names.EMAIL_REQUESTS, email)):
            self.sent.expect("email", str(email["to"]), [str(email["request_id"])])
        receipt = goods.receipt(i)
        paid = str(receipt["payment_id"])
        if "receipt" in self.kinds and self._deliver(
            f"receipt {i}", enqueue(names.RECEIPT_REQUESTS, receipt)
        ):
            self.sent.expect("receipt", str(receipt["email"]), [f"receipt:{paid}"], f"{paid}-v1.pdf")
        order = goods.order(i)
        path = self.folder / goods.order_blob(i).removeprefix("orders/")
        path.write_text(json.dumps(order))
        if "order" in self.kinds and self._deliver(
            f"order {i}", lambda: bool(upload.upload(blobs, queues, path))
        ):
            invoice = f"{order['invoice_number']}-v1.pdf"
            self.sent.expect("order", str(order["email"]), [f"invoice:{order['invoice_number']}-v1"], invoice)
        events = webhook_events(i)
        body = webhook_keys.batch(events)
        headers = webhook_keys.signed_headers(self._key, body)  # SendGrid retries with the same signature
        if "webhook" in self.kinds and self._deliver(
            f"webhook {i}", lambda: post_webhook(self.stack, body, headers) == 204
        ):
            self.sent.batches[str(events[0]["request_id"])] = [str(e["sg_event_id"]) for e in events]

    def _deliver(self, what: str, send: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + RETRY_FOR
        while time.monotonic() < deadline:
            try:
                if send():
                    return True
            except Exception:  # noqa: BLE001, S110 - the service is down: retry, as a producer would
                pass
            self.sent.retries += 1
            time.sleep(0.5)
        self.sent.gave_up.append(what)
        return False
