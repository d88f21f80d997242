"""aggregator: subscribes to the domain events and counts each effect once, per day and dimension.

Handlers only route: `tallies` says what an event adds, `counters` counts it once in the
`aggregates` state store (the count and the event's id in one ETag-guarded write). An event counted
already (redelivered, or handled by another replica first) is logged and acknowledged.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import TYPE_CHECKING

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprPublisher, DaprStateStore
from bindings.messages import DeadLetterEvent
from functions.aggregator import counters, tallies
from functions.common import domain_events, names
from functions.common.document_events import DocumentEvent
from functions.common.domain_events import DunningEvent, EmailEvent

if TYPE_CHECKING:
    from datetime import datetime

    from functions.common.aggregates import Level

_log = logging.getLogger(__name__)
# Announces its own dead letters (a hostile event on a topic) on domain-events, where it counts them too.
app = FunctionApp(names.AGGREGATOR, events=DaprPublisher(names.DOMAIN_EVENTS))
store = DaprStateStore(names.AGGREGATES)


@app.topic(names.DOMAIN_EVENTS, domain_events.DUNNING, model=DunningEvent)
def on_dunning(event: DunningEvent) -> None:
    """Count a dunning effect under the day it happened (UTC)."""
    dimensions, moves = tallies.dunning_dimensions(event), tallies.dunning_moves(event)
    _count(domain_events.DUNNING, event.event_id, event.occurred_at, dimensions, moves)


@app.topic(names.DOMAIN_EVENTS, domain_events.EMAIL, model=EmailEvent)
def on_email(event: EmailEvent) -> None:
    """Count an email effect under the day it happened (UTC)."""
    _count(domain_events.EMAIL, event.event_id, event.occurred_at, tallies.email_dimensions(event))


@app.topic(names.DOMAIN_EVENTS, domain_events.DOCUMENTS, model=DocumentEvent)
def on_document(event: DocumentEvent) -> None:
    """Count an issued document under the day its record says it was issued (UTC)."""
    _count(domain_events.DOCUMENTS, event.event_id, event.occurred_at, tallies.document_dimensions(event))


@app.topic(names.DOMAIN_EVENTS, domain_events.DEAD_LETTERS, model=DeadLetterEvent)
def on_dead_letter(event: DeadLetterEvent) -> None:
    """Count a dead letter written by any app under the day it was written (UTC)."""
    _count(
        domain_events.DEAD_LETTERS, event.event_id, event.occurred_at, tallies.dead_letter_dimensions(event)
    )


def _count(
    topic: str,
    event_id: str,
    occurred_at: datetime,
    dimensions: dict[str, int],
    moves: dict[str, Level] | None = None,
) -> None:
    day = occurred_at.astimezone(UTC).date()
    if not counters.count(store, topic, day, event_id, dimensions, moves=moves):
        _log.info("counted already: %s", event_id)


if __name__ == "__main__":
    app.run()
