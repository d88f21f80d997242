"""CPU per event of `FunctionApp.handle` alone, in this process: no gRPC server, no sidecar.

`python handle_probe.py LEVEL EVENTS` prints microseconds of CPU per event, with the JSON log at
LEVEL written to /dev/null, for the bench's event model on the framework app.
`bench/log_instructions.py` counts the same loop's instructions under callgrind.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from framework_app import BINDING, app

from bindings import logs

_METADATA = {"dequeueCount": "1", "messageID": "0b8c2f5e-5b1e-4d7e-9d55-1c2a9f6e8a01"}


def prepare(level: str, events: int) -> list[bytes]:
    """Log as the apps do, at `level`, to /dev/null; the bodies of `events` bench events."""
    devnull = Path("/dev/null").open("w")  # noqa: SIM115 - for the life of the process
    logs.configure("bench-handle", {"BINDERY_LOG_LEVEL": level}, stream=devnull)
    return [json.dumps({"version": 1, "id": f"e{n}", "n": n}).encode() for n in range(events)]


def handle_all(bodies: list[bytes]) -> None:
    """Run each body through `FunctionApp.handle`, as one queue message."""
    for body in bodies:
        app.handle(BINDING, body, _METADATA)


def main(level: str, events: int) -> float:
    """CPU microseconds per event over `events` handled events."""
    bodies = prepare(level, events)
    began = time.process_time()
    handle_all(bodies)
    return (time.process_time() - began) / events * 1e6


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
