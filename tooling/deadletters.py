"""Read and redrive dead letters: JSON records in the `dead-letters` blob container.

A queue message goes back on its queue, a topic event on the local broker (`tooling/topic_redrive.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bindings.errors import BinderyError
from bindings.messages import DeadLetter
from functions.common import names
from tooling import components, topic_redrive

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient


_log = logging.getLogger("bindery")


class RedriveError(BinderyError, RuntimeError):
    """A dead letter cannot be redriven; the message says why."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A dead-letter record and the blob that holds it."""

    blob: str
    record: DeadLetter


def container_name(components_dir: Path) -> str:
    """The container the `dead-letters` binding writes to."""
    return str(components.load(components_dir)[names.DEAD_LETTERS]["metadata"]["containerName"])


def records(blobs: BlobServiceClient, components_dir: Path) -> Iterator[Stored]:
    """Yield every dead letter, oldest first within each source."""
    container = blobs.get_container_client(container_name(components_dir))
    if not container.exists():
        return
    for blob in container.list_blobs():
        data = container.download_blob(blob.name).readall()
        yield Stored(blob=blob.name, record=DeadLetter.model_validate_json(data))


def is_topic(record: DeadLetter) -> bool:
    """Whether the record's source is a topic subscription (`pubsub/topic`) rather than a queue binding."""
    return "/" in record.source


def redrive(
    stored: Stored, blobs: BlobServiceClient, queues: QueueServiceClient, components_dir: Path
) -> str:
    """Put the original body back on its source, then delete the record; return the queue or `pubsub/topic`.

    The body goes back byte for byte: as the queue's message, or as the event daprd would publish with
    the record's message id as its CloudEvent id (`redrive_topic`). A crash between the two steps
    redrives it twice, which handlers tolerate: every handler is idempotent under redelivery.
    """
    if is_topic(stored.record):
        where = redrive_topic(stored.record, components.load(components_dir))
    else:
        where = _redrive_queue(stored.record, queues, components_dir)
    blobs.get_container_client(container_name(components_dir)).delete_blob(stored.blob)
    return where


def redrive_topic(record: DeadLetter, found: dict[str, dict[str, Any]]) -> str:
    """Add the event back to its topic on the local broker (`pubsub.redis`); return `pubsub/topic`.

    Its CloudEvent id is the record's message id, the original event's: a subscriber that handled the
    event already (the aggregator and the audit archive keep event ids) takes it as the same event and
    counts it once. A record without one goes under a fresh id, and a warning says so.
    """
    pubsub, _, topic = record.source.partition("/")
    component = found.get(pubsub)
    if component is None:
        raise RedriveError(f"{record.id}: source {record.source!r}: no pub/sub component {pubsub!r}")
    try:
        port = topic_redrive.broker_port(pubsub, component)
    except ValueError as error:
        raise RedriveError(f"{record.id}: {error}") from error
    event_id, fresh = topic_redrive.event_id(record.message_id)
    if fresh:
        _log.warning(
            "dead letter %s has no message id: redriven as the new CloudEvent %s", record.id, event_id
        )
    cloud_event = topic_redrive.envelope(
        record.body, event_id=event_id, pubsub=pubsub, topic=topic, now=datetime.now(UTC)
    )
    try:
        topic_redrive.add(port, topic, cloud_event)
    except OSError as error:
        raise RedriveError(
            f"{record.id}: the broker of {pubsub!r} (port {port}) is unreachable: {error}"
        ) from error
    return record.source


def _redrive_queue(record: DeadLetter, queues: QueueServiceClient, components_dir: Path) -> str:
    source = components.load(components_dir).get(record.source)
    if source is None or source["type"] != "bindings.azure.storagequeues":
        raise RedriveError(f"{record.id}: source {record.source!r} is not a queue component")
    queue = str(source["metadata"]["queue"])
    try:
        text = record.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RedriveError(f"{record.id}: the body is not text, a queue cannot carry it back") from error
    queues.get_queue_client(queue).send_message(text)
    return queue


def table(rows: list[Stored]) -> str:
    """Format dead letters as a fixed-width table."""
    header = f"{'ID':32}  {'WHEN (UTC)':19}  {'SOURCE':18}  {'KIND':9}  {'TRIES':>5}  REASON"
    lines = [header]
    for row in rows:
        record = row.record
        reason = record.reason.replace("\n", " ")
        lines.append(
            f"{record.id:32}  {record.dead_lettered_at:%Y-%m-%d %H:%M:%S}  {record.source[:18]:18}  "
            f"{record.kind:9}  {record.dequeue_count:>5}  {reason[:80]}"
        )
    return "\n".join(lines)
