"""The same work on FunctionApp: a versioned pydantic model, the API-token guard, logs, poison handling."""

from __future__ import annotations

import os
from typing import Literal

from bindings.app import FunctionApp
from bindings.messages import Message

BINDING = os.environ.get("BENCH_BINDING", "bench-framework")  # the app id and its queue binding
app = FunctionApp(BINDING)
seen = {"count": 0}


class BenchEvent(Message):
    """The bench's event (version 1)."""

    version: Literal[1] = 1
    id: str
    n: int


@app.queue(BINDING, model=BenchEvent)
def on_event(event: BenchEvent) -> None:
    """Count the event."""
    seen["count"] += int(event.n >= 0)


if __name__ == "__main__":
    app.run()
