"""Read-only SAS links to documents, signed with azure-storage-blob (Azure or Azurite).

Dapr's blob binding cannot sign URLs, so this port talks to the storage SDK directly. Two ways to sign:

* `DOCUMENTS_CONNECTION_STRING` (an account key: Azurite locally, or a Key Vault secret): the SAS is
  computed offline, without a network call;
* `DOCUMENTS_ACCOUNT_URL` (Azure with a managed identity, no key anywhere): a user-delegation key is
  fetched with `azure-identity` and reused until an hour before it expires. Azure caps user-delegation
  SAS at 7 days, so links are valid for at most that long.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

if TYPE_CHECKING:
    from azure.storage.blob import UserDelegationKey

MAX_LINK_AGE = timedelta(days=7)
_KEY_MARGIN = timedelta(hours=1)


class SasLinks:
    """`LinkSigner` for one container: read-only SAS URLs that expire."""

    def __init__(self, service: BlobServiceClient, container: str, *, account_key: str | None) -> None:
        self._service = service
        self._container = container
        self._account_key = account_key
        self._delegation: UserDelegationKey | None = None
        self._delegation_until: datetime | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, container: str) -> SasLinks:
        """Sign with `DOCUMENTS_CONNECTION_STRING`, else a managed identity at `DOCUMENTS_ACCOUNT_URL`."""
        connection = os.environ.get("DOCUMENTS_CONNECTION_STRING", "")
        if connection:
            service = BlobServiceClient.from_connection_string(connection)
            key = service.credential.account_key if service.credential else None
            if not key:
                raise SystemExit("DOCUMENTS_CONNECTION_STRING holds no AccountKey to sign links with")
            return cls(service, container, account_key=key)
        account_url = os.environ.get("DOCUMENTS_ACCOUNT_URL", "")
        if not account_url:
            raise SystemExit(
                "set DOCUMENTS_CONNECTION_STRING (account key) or DOCUMENTS_ACCOUNT_URL (managed identity)"
                " so receipt links can be signed"
            )
        return cls(BlobServiceClient(account_url, credential=_identity()), container, account_key=None)

    def url(self, blob_name: str, *, expires: datetime) -> str:
        """A URL that reads `blob_name` (only it, only reading) until `expires`."""
        now = datetime.now(tz=expires.tzinfo)
        if expires - now > MAX_LINK_AGE + timedelta(minutes=1):
            raise ValueError(f"a document link lasts at most {MAX_LINK_AGE.days} days")
        start = now - timedelta(minutes=5)  # readers' clocks drift
        signing: dict[str, Any] = (
            {"account_key": self._account_key}
            if self._account_key
            else {"user_delegation_key": self._delegation_key(expires)}
        )
        token = generate_blob_sas(
            account_name=str(self._service.account_name),
            container_name=self._container,
            blob_name=blob_name,
            permission=BlobSasPermissions(read=True),
            expiry=expires,
            start=start,
            **signing,
        )
        base = self._service.url.rstrip("/")
        return f"{base}/{quote(self._container)}/{quote(blob_name)}?{token}"

    def _delegation_key(self, expires: datetime) -> UserDelegationKey:
        with self._lock:
            now = datetime.now(tz=expires.tzinfo)
            if self._delegation is None or self._delegation_until is None or expires > self._delegation_until:
                until = now + MAX_LINK_AGE + _KEY_MARGIN
                self._delegation = self._service.get_user_delegation_key(now - timedelta(minutes=5), until)
                self._delegation_until = until - _KEY_MARGIN
            return self._delegation


def _identity() -> Any:  # noqa: ANN401 - azure-identity's credential types are optional here
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - only in Azure
    except ImportError as error:
        raise SystemExit(
            "DOCUMENTS_ACCOUNT_URL signs links with a managed identity: install bindery[azure]"
        ) from error
    return DefaultAzureCredential()
