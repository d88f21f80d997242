"""audit-archive: keeps every domain event once and writes one JSON-lines blob a day and topic.

The second subscriber on the domain-event topics (the aggregator is the first): each event is kept in
the `archive-state` store (`archive`: its line and its id in one ETag-guarded write, and its day marked
dirty); the `archive-tick` cron renders each dirty day into `audit/yyyy/mm/dd/{topic}.jsonl` (`render`).
An event archived already (redelivered, or handled by another replica first) is logged and acknowledged.
Adding a topic is one line of `TOPICS`: its name and its event model.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bindings.app import CronTick, FunctionApp
from bindings.dapr_ports import DaprBlobStore, DaprPublisher, DaprStateStore
from bindings.errors import TransientError
from bindings.messages import DeadLetterEvent
from functions.audit_archive import archive, render
from functions.common import domain_events, names
from functions.common.document_events import DocumentEvent
from functions.common.domain_events import DunningEvent, EmailEvent

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# topic of `names.DOMAIN_EVENTS` -> the model of its events (any with `event_id` and `occurred_at`)
TOPICS: Mapping[str, type[archive.Event]] = {
    domain_events.DUNNING: DunningEvent,
    domain_events.EMAIL: EmailEvent,
    domain_events.DOCUMENTS: DocumentEvent,
    domain_events.DEAD_LETTERS: DeadLetterEvent,
}

_log = logging.getLogger(__name__)
# Announces its own dead letters (a hostile event on a topic) on domain-events, where it archives them too.
app = FunctionApp(names.AUDIT_ARCHIVE, events=DaprPublisher(names.DOMAIN_EVENTS))
store = DaprStateStore(names.ARCHIVE_STATE)
blobs = DaprBlobStore(names.AUDIT)


def _keeper(topic: str) -> Callable[[archive.Event], None]:
    def on_event(event: archive.Event) -> None:
        """Keep the event under its topic and UTC day; its blob follows on the next tick."""
        if not archive.keep(store, topic, event):
            _log.info("archived already: %s", event.event_id)

    return on_event


for _topic, _model in TOPICS.items():
    app.topic(names.DOMAIN_EVENTS, _topic, model=_model)(_keeper(_topic))


@app.cron(names.ARCHIVE_TICK)
def on_tick(tick: CronTick) -> None:
    """Write the blob of every day that changed; a day that fails stays dirty for the next tick."""
    del tick
    report = render.tick(store, blobs, TOPICS)
    for name, lines in report.written.items():
        _log.info("wrote %s/%s: %d events", names.AUDIT, name, lines)
    if report.failed:
        raise TransientError("; ".join(f"{name}: {error}" for name, error in sorted(report.failed.items())))


if __name__ == "__main__":
    app.run()
