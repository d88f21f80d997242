"""Every test here is an integration test: the stack fixtures (`tooling.pytest_plugin`) start real parts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.helpers import HERE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as an integration test."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
