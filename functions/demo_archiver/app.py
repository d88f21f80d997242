"""demo-archiver: Heartbeat from `demo-events` → `heartbeats/{id}.json` in `documents`."""

from __future__ import annotations

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprBlobStore, DaprPublisher
from functions.common import names
from functions.common.messages import Heartbeat

# Announces each dead letter on domain-events (`DeadLetterEvent`, topic dead-letters), as every app does.
app = FunctionApp(names.DEMO_ARCHIVER, events=DaprPublisher(names.DOMAIN_EVENTS))
documents = DaprBlobStore(names.DOCUMENTS)


@app.queue(names.DEMO_EVENTS, model=Heartbeat)
def on_heartbeat(beat: Heartbeat) -> None:
    """Archive the heartbeat; a redelivery overwrites the same blob with the same bytes."""
    documents.put(
        f"heartbeats/{beat.id}.json", beat.model_dump_json().encode(), content_type="application/json"
    )


if __name__ == "__main__":
    app.run()
