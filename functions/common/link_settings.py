"""The document link signer's settings, apart from `links.py`, which loads the storage SDK (~0.3 s)."""

from __future__ import annotations

from bindings.settings import Setting

DOCUMENTS_CONNECTION_STRING = Setting(
    "DOCUMENTS_CONNECTION_STRING", None, "a connection string with an AccountKey: links are signed with it",
    optional=True,
)  # fmt: skip
DOCUMENTS_ACCOUNT_URL = Setting(
    "DOCUMENTS_ACCOUNT_URL", None, "the blob endpoint: links are signed with the managed identity",
    unless=DOCUMENTS_CONNECTION_STRING.name,
)  # fmt: skip
LINK_SETTINGS = (DOCUMENTS_CONNECTION_STRING, DOCUMENTS_ACCOUNT_URL)
