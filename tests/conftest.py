"""Shared fixtures."""

from __future__ import annotations

import os
import zoneinfo

import pytest

from tests.fakes import FakeBlobStore

# Time zones come from the locked tzdata package, not the machine's database (docs/versions.md): the
# tests, and every process they start, see the same rules whatever the system has installed.
os.environ["PYTHONTZPATH"] = ""
zoneinfo.reset_tzpath()


@pytest.fixture
def blob_store() -> FakeBlobStore:
    """An empty in-memory blob store."""
    return FakeBlobStore()
