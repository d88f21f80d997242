"""The local stack as users run it: components/local in the real daprd, the demo flow, and a clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from functions.common import names
from tooling.stack import DEMO_APPS, Stack
from tooling.waiting import eventually


def test_local_components_load_in_daprd_and_the_demo_flow_runs(stack_factory: Callable[..., Stack]) -> None:
    """Each sidecar loads exactly the components scoped to it, and ticks end up as blobs."""
    stack = stack_factory(apps=DEMO_APPS, values={"DEMO_TICK_SCHEDULE": "@every 1s"})
    for app_id, running in stack.apps.items():
        request = urllib.request.Request(
            f"http://127.0.0.1:{running.ports.http}/v1.0/metadata",
            headers={"dapr-api-token": stack.dapr_token or ""},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            metadata = json.load(response)
        loaded = sorted(component["name"] for component in metadata["components"])
        assert loaded == sorted(c.name for c in names.COMPONENTS if app_id in c.apps)
    documents = stack.blob_service().get_container_client("documents")
    eventually(lambda: len(list(documents.list_blobs(name_starts_with="heartbeats/"))) >= 2, "two heartbeats")


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_bindery_run_stops_every_process_it_started_on_ctrl_c(tmp_path: Path) -> None:
    """SIGINT to `bindery run` leaves no Azurite, Redis, SMTP capture, app or daprd behind."""
    var = tmp_path / "var"
    marker = f"BINDERY_VAR={var}"
    run = subprocess.Popen(
        [sys.executable, "-m", "tooling.cli", "run"],
        env={**os.environ, "BINDERY_VAR": str(var)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert run.stdout is not None
        output = []
        for line in run.stdout:
            output.append(line)
            if "Bindery local stack healthy" in line:
                break
        else:
            raise AssertionError("bindery run ended before it was healthy:\n" + "".join(output))
        children = [pid for pid in _processes_with(marker) if pid != run.pid]
        # azurite, redis, smtp capture, two sandboxes, and each app with its sidecar
        assert len(children) >= 5 + 2 * len(DEMO_APPS), children
        assert (var / "run" / "stack.json").is_file()
        run.send_signal(signal.SIGINT)
        assert run.wait(60) == 0
    finally:
        if run.poll() is None:
            run.kill()
    assert not _processes_with(marker)
    assert not (var / "run" / "stack.json").exists()
    assert sorted(path.name for path in (var / "log").glob("*.log")) == sorted(
        ["azurite.log", "redis.log", "smtp-capture.log", "processor-sandbox.log", "sendgrid-sandbox.log"]
        + [f"{spec.app_id}{suffix}.log" for spec in DEMO_APPS for suffix in ("", "-daprd")]
    )
