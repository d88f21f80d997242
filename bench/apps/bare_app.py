"""The baseline: a bare `dapr.ext.grpc` App handling the bench queue with json.loads and nothing else."""

from __future__ import annotations

import json
import os

from dapr.ext.grpc import App, BindingRequest

app = App()
seen = {"count": 0}


@app.binding("bench-bare")  # type: ignore[untyped-decorator]
def on_event(request: BindingRequest) -> None:
    """Parse the event and count it."""
    event = json.loads(request.data)
    seen["count"] += int(event["n"] >= 0)


if __name__ == "__main__":
    app.run(int(os.environ["APP_PORT"]))
