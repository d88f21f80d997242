"""Read and redrive dead letters: JSON records in the `dead-letters` blob container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings.errors import BinderyError
from bindings.messages import DeadLetter
from functions.common import names
from tooling import components

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient


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


def redrive(
    stored: Stored, blobs: BlobServiceClient, queues: QueueServiceClient, components_dir: Path
) -> str:
    """Put the original body back on its source queue, then delete the record; return the queue.

    The body goes back byte for byte. A crash between the two steps redrives it twice,
    which handlers tolerate: every handler is idempotent under redelivery.
    """
    source = components.load(components_dir).get(stored.record.source)
    if source is None or source["type"] != "bindings.azure.storagequeues":
        raise RedriveError(f"{stored.record.id}: source {stored.record.source!r} is not a queue component")
    queue = str(source["metadata"]["queue"])
    try:
        text = stored.record.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RedriveError(
            f"{stored.record.id}: the body is not text, a queue cannot carry it back"
        ) from error
    queues.get_queue_client(queue).send_message(text)
    blobs.get_container_client(container_name(components_dir)).delete_blob(stored.blob)
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
