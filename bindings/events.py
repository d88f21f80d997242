"""Storage events as Azure delivers them to a storage queue: Event Grid or CloudEvents 1.0 schema."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
_SUBJECT_RE = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")


class BlobEvent(BaseModel):
    """One storage event, normalised from either schema (version 1 of Bindery's model).

    `container` and `blob_name` come from `subject`, the one field both schemas share;
    `sequencer` orders events of the same blob by plain string comparison.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    schema_name: Literal["eventgrid", "cloudevents"]
    id: str = Field(min_length=1)
    event_type: str
    subject: str
    source: str
    event_time: datetime
    api: str = ""
    url: str = ""
    content_type: str = ""
    content_length: int | None = None
    etag: str = ""
    sequencer: str = ""
    container: str
    blob_name: str = Field(max_length=1024)

    @field_validator("blob_name")
    @classmethod
    def _plain_path(cls, name: str) -> str:
        """Refuse names that URL handling would rewrite: `.`/`..`/empty segments, backslashes, controls.

        A BlobCreated for `orders/../secret.json` passes an `orders/` prefix filter, but an HTTP
        client or server may normalise the path and read `secret.json` instead.
        """
        segments = name.split("/")
        if any(segment in {"", ".", ".."} for segment in segments) or "\\" in name:
            raise ValueError(f"blob name {name[:200]!r} has an empty, '.' or '..' segment or a backslash")
        if any(char < " " or char == "\x7f" for char in name):
            raise ValueError(f"blob name {name[:200]!r} has control characters")
        return name

    @property
    def path(self) -> str:
        """`container/blob name`, the string that `prefix` filters match."""
        return f"{self.container}/{self.blob_name}"


def parse_blob_event(raw: Any) -> BlobEvent:  # noqa: ANN401 - decoded JSON of unknown shape
    """Normalise one decoded queue message into a `BlobEvent`.

    Raises `ValueError` (pydantic's `ValidationError` is one) when the message is not a
    single storage event in either schema.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"a storage event is a JSON object, got {type(raw).__name__}")  # noqa: TRY004 - ValueError means "invalid payload" to the dispatcher
    cloud = "specversion" in raw
    data = raw.get("data")
    if not isinstance(data, dict):
        raise ValueError("storage event has no 'data' object")  # noqa: TRY004 - as above
    subject = str(raw.get("subject", ""))
    match = _SUBJECT_RE.match(subject)
    if match is None:
        raise ValueError(f"subject {subject[:200]!r} is not /blobServices/default/containers/…/blobs/…")
    return BlobEvent.model_validate(
        {
            "schema_name": "cloudevents" if cloud else "eventgrid",
            "id": raw.get("id"),
            "event_type": raw.get("type" if cloud else "eventType"),
            "subject": subject,
            "source": raw.get("source" if cloud else "topic"),
            "event_time": raw.get("time" if cloud else "eventTime"),
            "api": data.get("api", ""),
            "url": data.get("url", ""),
            "content_type": data.get("contentType", ""),
            "content_length": data.get("contentLength"),
            "etag": str(data.get("eTag", "")).strip('"'),
            "sequencer": data.get("sequencer", ""),
            "container": match.group("container"),
            "blob_name": match.group("blob"),
        }
    )
