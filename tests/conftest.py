"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.fakes import FakeBlobStore


@pytest.fixture
def blob_store() -> FakeBlobStore:
    """An empty in-memory blob store."""
    return FakeBlobStore()
