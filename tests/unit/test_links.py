"""Document links: read-only SAS URLs for one blob, with an expiry, signed offline with an account key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import BlobServiceClient

from bindings.dev.azurite import ACCOUNT_KEY
from bindings.links import SasLinks

CONNECTION = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


def links() -> SasLinks:
    """Links for the documents container of a local account."""
    service = BlobServiceClient.from_connection_string(CONNECTION)
    return SasLinks(service, "documents", account_key=ACCOUNT_KEY)


def test_a_link_reads_one_blob_until_its_expiry() -> None:
    """Permission read only, the blob's own path (escaped), the expiry asked for, and a signature."""
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    url = links().url("invoices/2026/11/INV #1 Ü.pdf", expires=expires)
    parts = urlsplit(url)
    assert parts.path == "/devstoreaccount1/documents/invoices/2026/11/INV%20%231%20%C3%9C.pdf"
    query = parse_qs(parts.query)
    assert query["sp"] == ["r"]
    assert query["sr"] == ["b"]
    assert query["se"] == [expires.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert datetime.fromisoformat(query["st"][0]) < datetime.now(UTC)
    assert query["sig"][0]


def test_links_longer_than_seven_days_are_refused() -> None:
    """Azure caps user-delegation SAS at 7 days; account-key links keep the same limit."""
    with pytest.raises(ValueError, match="at most 7 days"):
        links().url("receipts/a.pdf", expires=datetime.now(UTC) + timedelta(days=8))


def test_from_env_needs_a_key_or_an_account_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without configuration the app stops with a message naming both settings."""
    monkeypatch.delenv("DOCUMENTS_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("DOCUMENTS_ACCOUNT_URL", raising=False)
    with pytest.raises(SystemExit, match="DOCUMENTS_CONNECTION_STRING"):
        SasLinks.from_env("documents")
    monkeypatch.setenv("DOCUMENTS_CONNECTION_STRING", CONNECTION)
    assert "sig=" in SasLinks.from_env("documents").url(
        "a.pdf", expires=datetime.now(UTC) + timedelta(hours=1)
    )
