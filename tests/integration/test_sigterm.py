"""SIGTERM sent the moment an app's port opens stops it cleanly (it used to race the server's start)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from tooling.paths import project_root
from tooling.procs import free_port, port_open

if TYPE_CHECKING:
    from pathlib import Path

ROOT = project_root()
RUNS = 10
START_TIMEOUT = 60.0
EXIT_TIMEOUT = 15.0  # an idle app exits in well under a second; a hung one never does


def terminate_once_serving(module: str, log: Path) -> str:
    """Start `module`, send SIGTERM as soon as its port accepts connections; how it ended."""
    port = free_port()
    env = {**os.environ, "APP_PORT": str(port), "BINDERY_LOG_LEVEL": "WARNING"}
    env.pop("APP_API_TOKEN", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            is_open = port_open(port)
            deadline = time.monotonic() + START_TIMEOUT
            while not is_open():
                if proc.poll() is not None or time.monotonic() > deadline:
                    return f"never served (exit {proc.returncode})"
                time.sleep(0.002)
            proc.send_signal(signal.SIGTERM)
            try:
                return f"exit {proc.wait(EXIT_TIMEOUT)}"
            except subprocess.TimeoutExpired:
                return f"still running {EXIT_TIMEOUT:.0f}s after SIGTERM"
        finally:
            proc.kill()
            proc.wait()


def test_sigterm_right_after_the_port_opens_stops_the_app(tmp_path: Path) -> None:
    """Every run exits 0 after SIGTERM, even when the signal lands between the port opening and start."""
    for run in range(RUNS):
        log = tmp_path / f"run{run}.log"
        outcome = terminate_once_serving("functions.receipt_render.app", log)
        tail = log.read_text(errors="replace")[-2000:]
        assert outcome == "exit 0", f"run {run + 1} of {RUNS}: {outcome}; log:\n{tail}"
