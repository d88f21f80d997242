"""What the good work actually did, read from where it lands: the ledger, mails, state, blobs, dead letters.

State is read through daprd's state API (the bulk endpoint of a sidecar the store is scoped to),
so the check sees exactly what the apps see in PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from functions.common import names
from tests.integration.helpers import read_jsonl
from tests.reliability import goods
from tooling import deadletters
from tooling.stack import Stack

_ENVELOPE_TO = b"X-Bindery-Envelope-To: "


class Mailbox:
    """The envelope recipients of every captured mail, each file read once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen: dict[str, list[str]] = {}

    def counts(self) -> Counter[str]:
        """Mails captured so far, by envelope recipient."""
        for path in self.folder.glob("*.eml"):
            if path.name not in self._seen:
                with path.open("rb") as file:
                    head = file.read(4096)
                line = next((ln for ln in head.splitlines() if ln.startswith(_ENVELOPE_TO)), b"")
                self._seen[path.name] = [
                    a.strip() for a in line[len(_ENVELOPE_TO) :].decode().split(",") if a
                ]
        return Counter(address for addresses in self._seen.values() for address in addresses)


def state(stack: Stack, sidecar: str, store: str, keys: list[str]) -> dict[str, Any]:
    """The JSON values of `keys` in `store`, read through `sidecar`'s daprd; absent keys are left out."""
    port = stack.apps[sidecar].ports.http
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 200):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1.0/state/{store}/bulk",
            data=json.dumps({"keys": keys[start : start + 200], "parallelism": 8}).encode(),
            headers={"Content-Type": "application/json", "dapr-api-token": stack.dapr_token or ""},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            items = json.load(answer)
        for item in items:
            if item.get("data") is not None:
                found[item["key"]] = _json(item["data"])
    return found


def _json(data: Any) -> Any:
    """A value as daprd answers it: JSON as JSON, other bytes as base64 text."""
    if not isinstance(data, str):
        return data
    try:
        return json.loads(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return json.loads(data)


def charges(stack: Stack, cases: list[str]) -> Counter[str]:
    """Ledger lines by idempotency key, for `cases`."""
    wanted = set(cases)
    return Counter(line["key"] for line in read_jsonl(stack.ledger) if line["case_id"] in wanted)


def documents(stack: Stack) -> Counter[str]:
    """This run's PDFs in the documents container, by base name (a name twice would be two folders)."""
    container = stack.blob_service().get_container_client(names.DOCUMENTS_CONTAINER)
    return Counter(
        blob.name.rsplit("/", 1)[-1]
        for prefix in ("receipts/", "invoices/")
        for blob in container.list_blobs(name_starts_with=prefix)
        if goods.TAG in blob.name
    )


def dead_letters(stack: Stack) -> list[deadletters.Stored]:
    """Every dead letter in the store."""
    return list(deadletters.records(stack.blob_service(), stack.resources))


INPUT_QUEUES = (
    names.PAYMENT_EVENTS,
    names.EMAIL_REQUESTS,
    names.RECEIPT_REQUESTS,
    names.BLOB_EVENTS,
    names.EMAIL_EVENTS,
)


def queued(stack: Stack) -> dict[str, int]:
    """Messages still on each input queue, visible or not."""
    service = stack.queue_service()
    return {
        queue: service.get_queue_client(queue).get_queue_properties().approximate_message_count or 0
        for queue in INPUT_QUEUES
    }


def attempts(log_dir: Path) -> tuple[list[str], dict[str, list[tuple[datetime, int]]]]:
    """Attempts as the apps logged them: reasons of those left for redelivery, and each message's runs.

    The second value maps a queue message id to the (start, attempt) of every attempt that reached
    a handler, failed or handled: the line's time less the `seconds` the attempt took, so a handler
    slowed by an outage does not shorten the gap to the next attempt.
    """
    reasons: list[str] = []
    seen: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for path in log_dir.glob("*.log"):
        if path.name.endswith("-daprd.log"):
            continue
        for line in path.read_text(errors="replace").splitlines():
            if '"bindings.app"' not in line or not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # cut short by a kill -9 (or still being written): not a record
                continue
            message, message_id = str(entry["message"]), entry.get("message_id")
            if "left for redelivery" in message and message_id:
                attempt = int(message.split()[1])  # "attempt N of M failed, left for redelivery: reason"
                reasons.append(message.split(": ", 1)[-1])
            elif message == "handled" and message_id:
                attempt = int(entry.get("attempt", 0))
            else:
                continue
            began = datetime.fromisoformat(entry["time"]) - timedelta(seconds=float(entry.get("seconds", 0)))
            seen[str(message_id)].append((began, attempt))
    return reasons, seen
