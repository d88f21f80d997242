"""CPU per event of `FunctionApp.handle` alone, in this process: no gRPC server, no sidecar.

`python handle_probe.py LEVEL EVENTS` prints microseconds of CPU per event, with the JSON log at
LEVEL written to /dev/null, for the bench's event model on the framework app.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from framework_app import BINDING, app

from bindings import logs


def main(level: str, events: int) -> float:
    """CPU microseconds per event over `events` handled events."""
    logs.configure("bench-handle")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)  # noqa: S101 - what logs.configure installs
    handler.setStream(Path("/dev/null").open("w"))  # noqa: SIM115 - for the life of the process
    logging.getLogger().setLevel(level)
    bodies = [json.dumps({"version": 1, "id": f"e{n}", "n": n}).encode() for n in range(events)]
    metadata = {"dequeueCount": "1", "messageID": "0b8c2f5e-5b1e-4d7e-9d55-1c2a9f6e8a01"}
    began = time.process_time()
    for body in bodies:
        app.handle(BINDING, body, metadata)
    return (time.process_time() - began) / events * 1e6


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
