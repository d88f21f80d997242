"""The one way the tooling, the tests and the benchmarks wait for something: poll a condition."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def poll(condition: Callable[[], T], timeout: float, every: float = 0.1) -> T:
    """Call `condition` every `every` seconds until it returns something truthy or `timeout` passes.

    Returns its last value, truthy or not: for callers that decide themselves what a timeout means.
    """
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(every)
    return result


def eventually(condition: Callable[[], T | None], what: str, timeout: float = 30.0, every: float = 0.1) -> T:
    """`poll`, then its truthy value; `TimeoutError` naming `what` when none came within `timeout`."""
    result = poll(condition, timeout, every)
    if not result:
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
    return result
