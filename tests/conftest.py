"""Shared fixtures; the stack fixtures (`tooling.pytest_plugin`) for the integration and reliability tests."""

from __future__ import annotations

import os
import zoneinfo

import pytest

from bindings.testing import MemoryBlobStore

pytest_plugins = ["tooling.pytest_plugin"]

# Time zones come from the locked tzdata package, not the machine's database (docs/versions.md): the
# tests, and every process they start, see the same rules whatever the system has installed.
os.environ["PYTHONTZPATH"] = ""
zoneinfo.reset_tzpath()


@pytest.fixture
def blob_store() -> MemoryBlobStore:
    """An empty in-memory blob store."""
    return MemoryBlobStore()


@pytest.fixture(scope="session")
def stack_values() -> dict[str, str]:
    """Every test stack polls its queues every 100 ms and hides a taken message for 1 s."""
    return {"QUEUE_POLLING_INTERVAL": "100ms", "QUEUE_VISIBILITY_TIMEOUT": "1s"}
