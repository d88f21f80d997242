"""Test doubles of the ports shared between functions (the framework's ports: `bindings.testing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from datetime import datetime


class UnsignedLinks:
    """A `LinkSigner` that signs nothing: the blob's name and the expiry, readable in a made-up URL."""

    def url(self, blob_name: str, *, expires: datetime) -> str:
        """A recognisable URL for `blob_name`."""
        return f"https://blobs.example/documents/{quote(blob_name)}?se={expires:%Y-%m-%dT%H:%M:%SZ}"
