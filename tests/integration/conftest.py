"""Fixtures that start the real daprd, Azurite and the SMTP capture; reusable by every integration test.

Nothing here skips: when daprd cannot be built or Azurite cannot start, the fixtures raise
and the tests error, in CI and locally alike. `BINDERY_DAPR=aca` runs the suite on the Dapr line
Azure Container Apps runs (deploy/daprd-aca) instead of the default build (deploy/daprd).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bindings.dev import daprd
from bindings.dev.stack import Stack, StackConfig
from tests.integration.helpers import FAST_QUEUES, HERE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as an integration test."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


_DAPRD_USED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Name the daprd the integration tests ran against."""
    if used := config.stash.get(_DAPRD_USED, None):
        terminalreporter.write_line(f"integration tests ran against daprd {used}")


@pytest.fixture(scope="session")
def daprd_binary(pytestconfig: pytest.Config) -> Path:
    """The daprd every sidecar runs: the build $BINDERY_DAPR selects, found or built once a session."""
    selected = daprd.select()
    binary = daprd.find_or_build(selected.name)
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pytestconfig.stash[_DAPRD_USED] = f"{version} ({selected.name} build, {binary})"
    logging.getLogger(__name__).info("daprd %s at %s", version, binary)
    return binary


@pytest.fixture(scope="module")
def stack_factory(
    tmp_path_factory: pytest.TempPathFactory, daprd_binary: Path
) -> Iterator[Callable[..., Stack]]:
    """Start stacks, stopped at the end of the module: `stack_factory(apps=..., components=...)`."""
    started: list[Stack] = []

    def start(**config: Any) -> Stack:
        values = {**FAST_QUEUES, **config.pop("values", {})}
        stack = Stack(StackConfig(root=tmp_path_factory.mktemp("stack"), values=values, **config))
        started.append(stack.__enter__())
        return stack

    yield start
    for stack in reversed(started):
        stack.stop()
    del daprd_binary
