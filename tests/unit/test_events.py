"""Storage events in both schemas Azure writes to a queue, plain or base64."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import ValidationError

from bindings.events import BLOB_CREATED, parse_blob_event
from bindings.payload import decode_json

_DATA = {
    "api": "PutBlob",
    "clientRequestId": "c0d879ad-88c8-4bbe-8774-d65888dc2038",
    "requestId": "93902694-901e-008f-6f95-7153a8000000",
    "eTag": '"0x8D83FACDC0C3402"',
    "contentType": "application/json",
    "contentLength": 412,
    "blobType": "BlockBlob",
    "url": "https://acct.blob.core.windows.net/orders/2026/11/o-1.json",
    "sequencer": "00000000000000000000000000015508000000000005101c",
    "storageDiagnostics": {"batchId": "cfb32f79-3006-0010-0095-711faa000000"},
}
_SUBJECT = "/blobServices/default/containers/orders/blobs/2026/11/o-1.json"


def event_grid(**overrides: Any) -> dict[str, Any]:
    """An Event Grid schema BlobCreated event as one queue message carries it."""
    return {
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": _SUBJECT,
        "eventType": BLOB_CREATED,
        "eventTime": "2026-11-25T10:00:00.1234567Z",
        "id": "93902694-901e-008f-6f95-7153a806873c",
        "data": _DATA,
        "dataVersion": "",
        "metadataVersion": "1",
    } | overrides


def cloud_event() -> dict[str, Any]:
    """The same event in the CloudEvents 1.0 schema."""
    return {
        "source": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        "subject": _SUBJECT,
        "type": BLOB_CREATED,
        "time": "2026-11-25T10:00:00.1234567Z",
        "id": "93902694-901e-008f-6f95-7153a806873c",
        "data": _DATA,
        "specversion": "1.0",
    }


@pytest.mark.parametrize("raw", [event_grid(), cloud_event()], ids=["eventgrid", "cloudevents"])
@pytest.mark.parametrize("encode", [False, True], ids=["plain", "base64"])
def test_both_schemas_plain_or_base64_give_the_same_event(raw: dict[str, Any], *, encode: bool) -> None:
    """Container, blob path (with slashes), ETag without quotes and sequencer come out the same."""
    body = json.dumps(raw, separators=(",", ":")).encode()
    event = parse_blob_event(decode_json(base64.b64encode(body) if encode else body))
    assert event.event_type == BLOB_CREATED
    assert (event.container, event.blob_name, event.path) == (
        "orders",
        "2026/11/o-1.json",
        "orders/2026/11/o-1.json",
    )
    assert event.etag == "0x8D83FACDC0C3402"
    assert event.sequencer == _DATA["sequencer"]
    assert event.content_length == 412
    assert event.schema_name == ("cloudevents" if "specversion" in raw else "eventgrid")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([event_grid()], "JSON object"),
        (event_grid(data="nope"), "no 'data' object"),
        (event_grid(subject="/somewhere/else"), "is not /blobServices"),
        (event_grid(id=""), "id"),
        (event_grid(eventTime="yesterday"), "event_time"),
    ],
)
def test_malformed_events_raise_value_errors(raw: object, expected: str) -> None:
    """An array, a missing data object, a foreign subject, an empty id or a bad time is refused."""
    with pytest.raises((ValueError, ValidationError), match=expected):
        parse_blob_event(raw)


@pytest.mark.parametrize(
    "blob",
    ["orders/../secret.json", "orders/./a.json", "orders//a.json", "orders/a\\..\\b.json",
     "orders/a\x00.json", "orders/a\x1b[2J.json", "orders/x/..", "x" * 1025],
)  # fmt: skip
def test_blob_names_that_paths_would_rewrite_are_refused(blob: str) -> None:
    """Dot segments, empty segments, backslashes, control characters and overlong names are invalid events."""
    raw = event_grid(subject=f"/blobServices/default/containers/documents/blobs/{blob}")
    with pytest.raises(ValidationError, match="blob_name"):
        parse_blob_event(raw)


@pytest.mark.parametrize(
    "blob", ["orders/Ünïcødé order #1 (copy).json", "orders/a+b %2e%2e;=&.json", "orders/..x"]
)
def test_odd_but_literal_blob_names_are_accepted(blob: str) -> None:
    """Spaces, non-ASCII, '#', '%', '+' and names merely starting with dots are ordinary blob names."""
    raw = event_grid(subject=f"/blobServices/default/containers/documents/blobs/{blob}")
    assert parse_blob_event(raw).blob_name == blob
