"""Document links: read-only SAS URLs for one blob, with an expiry, signed offline with an account key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import BlobServiceClient, UserDelegationKey

from functions.common.links import LinkConfigError, SasLinks
from tooling.azurite import ACCOUNT_KEY

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
    """Without configuration signing fails with a message naming both settings."""
    monkeypatch.delenv("DOCUMENTS_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("DOCUMENTS_ACCOUNT_URL", raising=False)
    with pytest.raises(LinkConfigError, match="DOCUMENTS_CONNECTION_STRING"):
        SasLinks.from_env("documents")
    monkeypatch.setenv("DOCUMENTS_CONNECTION_STRING", CONNECTION)
    assert "sig=" in SasLinks.from_env("documents").url(
        "a.pdf", expires=datetime.now(UTC) + timedelta(hours=1)
    )


class FakeService:
    """The parts of `BlobServiceClient` the delegation path uses, recording each key fetch."""

    account_name = "acct"
    url = "https://acct.blob.core.windows.net/"

    def __init__(self) -> None:
        self.fetches: list[tuple[datetime, datetime]] = []

    def get_user_delegation_key(self, start: datetime, expiry: datetime) -> UserDelegationKey:
        """A well-formed key valid from `start` to `expiry`."""
        self.fetches.append((start, expiry))
        key = UserDelegationKey()  # type: ignore[no-untyped-call]
        key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-000000000001", "tenant"
        key.signed_start = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_expiry = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        key.signed_service, key.signed_version = "b", "2025-01-05"
        key.value = base64.b64encode(b"0" * 32).decode()
        return key


def test_delegation_links_reuse_one_key_that_azure_accepts_and_never_outlive_it() -> None:
    """One key for many links, asked for under 7 days; each link expires no later than its key."""
    service = FakeService()
    signer = SasLinks(service, "documents", account_key=None)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    urls = [signer.url(f"receipts/{n}.pdf", expires=now + timedelta(days=7)) for n in range(3)]
    assert len(service.fetches) == 1
    start, key_expiry = service.fetches[0]
    assert key_expiry - start < timedelta(days=7)
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        assert datetime.fromisoformat(query["se"][0]) <= key_expiry.replace(microsecond=0) + timedelta(
            seconds=1
        )
        assert query["skoid"] == ["00000000-0000-0000-0000-000000000001"]
        assert query["sp"] == ["r"]
