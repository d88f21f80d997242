"""Helpers for integration tests: polling, probe records, the probe app spec."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bindings.dev.sidecar import AppSpec

HERE = Path(__file__).parent
FAST_QUEUES = {"QUEUE_POLLING_INTERVAL": "100ms", "QUEUE_VISIBILITY_TIMEOUT": "1s"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines written so far (none if the file does not exist yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def eventually(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll until `condition()` is truthy and return it; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def probe_spec(app_id: str, log: Path, **env: str) -> AppSpec:
    """The probe app as `app_id`, recording to `log`."""
    return AppSpec(
        app_id,
        "probe_app",
        env={"PYTHONPATH": str(HERE / "probe"), "PROBE_LOG": str(log), "PROBE_APP_ID": app_id, **env},
    )
