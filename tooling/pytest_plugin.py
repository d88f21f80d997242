"""Pytest fixtures that start the real local stack: daprd, Azurite, Redis, the SMTP capture, the sandboxes.

Load it with `pytest_plugins = ["tooling.pytest_plugin"]` in a conftest.py (Bindery's own tests do, in
tests/conftest.py). Nothing here skips: when daprd cannot be built or Azurite cannot start, the
fixtures raise and the tests error. `BINDERY_DAPR=aca` selects the Dapr line Azure Container Apps runs.

* `daprd_binary` (session): the selected daprd build, found or built once;
* `stack_factory` (module): `stack_factory(apps=..., components=..., values=...)` starts a `Stack`,
  stopped at the end of the module;
* `stack_values` (session): component values every stack of the session starts with (override it,
  e.g. with short queue polling intervals for tests).
"""

from __future__ import annotations

import logging
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tooling.stack import Stack

_DAPRD_USED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Name the daprd the tests ran against, when any did."""
    if used := config.stash.get(_DAPRD_USED, None):
        terminalreporter.write_line(f"integration tests ran against daprd {used}")


@pytest.fixture(scope="session")
def daprd_binary(pytestconfig: pytest.Config) -> Path:
    """The daprd every sidecar runs: the build $BINDERY_DAPR selects, found or built once a session."""
    from tooling import daprd  # noqa: PLC0415 - loaded when a test needs the stack, not for every run

    selected = daprd.select()
    binary = daprd.find_or_build(selected.name)
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pytestconfig.stash[_DAPRD_USED] = f"{version} ({selected.name} build, {binary})"
    logging.getLogger(__name__).info("daprd %s at %s", version, binary)
    return binary


@pytest.fixture(scope="session")
def stack_values() -> dict[str, str]:
    """Component values every stack starts with, before each call's own `values` (none by default)."""
    return {}


@pytest.fixture(scope="module")
def stack_factory(
    tmp_path_factory: pytest.TempPathFactory, daprd_binary: Path, stack_values: dict[str, str]
) -> Iterator[Callable[..., Stack]]:
    """Start stacks, stopped at the end of the module: `stack_factory(apps=..., components=...)`."""
    from tooling.stack import Stack, StackConfig  # noqa: PLC0415 - the Azure SDKs: only for stack tests

    started: list[Stack] = []

    def start(**config: Any) -> Stack:  # noqa: ANN401 - StackConfig's fields, passed through
        values = {**stack_values, **config.pop("values", {})}
        stack = Stack(StackConfig(root=tmp_path_factory.mktemp("stack"), values=values, **config))
        started.append(stack.__enter__())
        return stack

    yield start
    for stack in reversed(started):
        stack.stop()
    del daprd_binary
