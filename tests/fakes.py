"""Small fakes behind the typed ports, for unit tests (the in-memory stores live in bindings.memory_ports)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from bindings.errors import NotFoundError


class FakeBlobStore:
    """A `BlobStore` in memory; `fail` makes every put raise."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.fail: Exception | None = None

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Store or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        self.blobs[name] = (data, content_type, dict(metadata or {}))

    def get(self, name: str) -> bytes:
        """Return a stored blob; `NotFoundError` when there is none, as the Dapr store raises."""
        if name not in self.blobs:
            raise NotFoundError(f"blob {name!r} does not exist")
        return self.blobs[name][0]


class FakeLinks:
    """A `LinkSigner` that writes the name and expiry into a fake URL."""

    def url(self, blob_name: str, *, expires: datetime) -> str:
        """A recognisable URL for `blob_name`."""
        return f"https://blobs.example/documents/{quote(blob_name)}?se={expires:%Y-%m-%dT%H:%M:%SZ}"
