"""Helpers for integration tests: polling, probe records, the probe app spec."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bindings import names
from bindings.dev.sidecar import AppSpec
from functions.email_webhook.app import PATH

if TYPE_CHECKING:
    from bindings.dev.stack import Stack

HERE = Path(__file__).parent
FAST_QUEUES = {"QUEUE_POLLING_INTERVAL": "100ms", "QUEUE_VISIBILITY_TIMEOUT": "1s"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON lines written so far (none if the file does not exist yet).

    A last line without its newline is still being written (the writers end every line with one): it is
    left for the next read instead of failing to parse.
    """
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n")[:-1] if line.strip()]


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


def post_webhook(stack: Stack, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to email-webhook; the HTTP status, or 0 when nothing answered."""
    port = stack.apps[names.EMAIL_WEBHOOK].ports.app
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def midday_zone(now: datetime) -> str:
    """A fixed-offset IANA zone where it is about noon now: dunning emails are held in quiet hours."""
    offset = 12 - now.hour
    offset = offset + 24 if offset < -12 else offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-5 is UTC+5
