"""`bindery upload`: Event Grid emulation for Azurite, which emits no storage events.

Upload a file to the documents container, then enqueue on `blob-events` the message Event Grid
would write there: one `Microsoft.Storage.BlobCreated` event in the Event Grid schema, compact
JSON, base64-encoded (the storage-queue delivery Azure uses; docs/architecture.md).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.storage.blob import ContentSettings

from functions.common import names

if TYPE_CHECKING:
    from pathlib import Path

    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

_TOPIC = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"  # noqa: E501 - one resource id


def blob_created(
    container: str,
    blob: str,
    *,
    url: str = "",
    length: int | None = None,
    etag: str = "",
    content_type: str = "application/octet-stream",
    api: str = "PutBlob",
    event_id: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """A BlobCreated event in the Event Grid schema, as Azure delivers it to a storage queue."""
    when = when or datetime.now(UTC)
    return {
        "topic": _TOPIC,
        "subject": f"/blobServices/default/containers/{container}/blobs/{blob}",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        "id": event_id or str(uuid.uuid4()),
        "data": {
            "api": api,
            "clientRequestId": str(uuid.uuid4()),
            "requestId": str(uuid.uuid4()),
            "eTag": etag,
            "contentType": content_type,
            "contentLength": length,
            "blobType": "BlockBlob",
            "url": url or f"https://devstoreaccount1.blob.core.windows.net/{container}/{blob}",
            "sequencer": f"{int(when.timestamp() * 1_000_000):032x}",
            "storageDiagnostics": {"batchId": str(uuid.uuid4())},
        },
        "dataVersion": "",
        "metadataVersion": "1",
    }


def queue_text(event: dict[str, Any]) -> str:
    """The queue message of `event`: compact JSON, base64 (what Event Grid writes)."""
    return base64.b64encode(json.dumps(event, separators=(",", ":")).encode()).decode("ascii")


def upload(
    blobs: BlobServiceClient, queues: QueueServiceClient, path: Path, *, prefix: str = "orders/"
) -> dict[str, Any]:
    """Upload `path` as `prefix + name` to the documents container and enqueue its BlobCreated event."""
    name = prefix + path.name
    data = path.read_bytes()
    content_type = "application/json" if path.suffix == ".json" else "application/octet-stream"
    client = blobs.get_blob_client(names.DOCUMENTS_CONTAINER, name)
    written = client.upload_blob(
        data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
    )
    event = blob_created(
        names.DOCUMENTS_CONTAINER, name, url=client.url, length=len(data),
        etag=str(written.get("etag", "")), content_type=content_type,
    )  # fmt: skip
    queues.get_queue_client(names.BLOB_EVENTS).send_message(queue_text(event))
    return event
