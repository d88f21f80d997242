"""Read-only SAS links to documents, signed with azure-storage-blob (Azure or Azurite).

Dapr's blob binding cannot sign URLs, so this port talks to the storage SDK directly. Two ways to sign:

* `DOCUMENTS_CONNECTION_STRING` (an account key: Azurite locally, or a Key Vault secret): the SAS is
  computed offline, without a network call;
* `DOCUMENTS_ACCOUNT_URL` (Azure with a managed identity, no key anywhere): a user-delegation key is
  fetched with `azure-identity`, valid for a little under 7 days (Azure refuses longer), and reused
  while it has more than a day left. A link cannot outlive its key, so such links last 6 to 7 days.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from bindings.errors import BinderyError
from functions.common.link_settings import DOCUMENTS_ACCOUNT_URL as ACCOUNT_URL
from functions.common.link_settings import DOCUMENTS_CONNECTION_STRING as CONNECTION_STRING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from azure.storage.blob import UserDelegationKey

MAX_LINK_AGE = timedelta(days=7)
_KEY_AGE = MAX_LINK_AGE - timedelta(minutes=10)  # Azure refuses keys beyond 7 days of its own clock
_KEY_REUSE = timedelta(days=1)  # a key with less left than this is replaced


class LinkConfigError(BinderyError, RuntimeError):
    """The environment does not say how to sign links."""


class LinkSigner(Protocol):
    """Makes customer-usable, read-only links to blobs of the documents container."""

    def url(self, blob_name: str, *, expires: datetime) -> str:
        """A URL that lets anyone holding it read blob `blob_name` until `expires`."""


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
    def from_env(cls, container: str, environ: Mapping[str, str] = os.environ) -> SasLinks:
        """Sign with `DOCUMENTS_CONNECTION_STRING`, else a managed identity at `DOCUMENTS_ACCOUNT_URL`."""
        connection = CONNECTION_STRING.text(environ) or ""
        if connection:
            service = BlobServiceClient.from_connection_string(connection)
            key = service.credential.account_key if service.credential else None
            if not key:
                raise LinkConfigError("DOCUMENTS_CONNECTION_STRING holds no AccountKey to sign links with")
            return cls(service, container, account_key=key)
        account_url = ACCOUNT_URL.text(environ) or ""
        if not account_url:
            raise LinkConfigError(
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
        signing: dict[str, Any] = {"account_key": self._account_key}
        if not self._account_key:
            key, key_expires = self._delegation_key(now)
            signing = {"user_delegation_key": key}
            expires = min(expires, key_expires)  # a SAS stops working when its key expires
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

    def _delegation_key(self, now: datetime) -> tuple[UserDelegationKey, datetime]:
        """The current user-delegation key and when it expires, fetched again when under a day is left."""
        with self._lock:
            if (
                self._delegation is None
                or self._delegation_until is None
                or self._delegation_until - now < _KEY_REUSE
            ):
                until = now + _KEY_AGE
                self._delegation = self._service.get_user_delegation_key(now - timedelta(minutes=5), until)
                self._delegation_until = until
            return self._delegation, self._delegation_until


def _identity() -> Any:  # noqa: ANN401 - azure-identity's credential types are optional here
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - only in Azure
    except ImportError as error:
        raise LinkConfigError(
            "DOCUMENTS_ACCOUNT_URL signs links with a managed identity: install bindery[azure]"
        ) from error
    return DefaultAzureCredential()
