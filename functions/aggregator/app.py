"""aggregator: subscribes to the domain events and counts each effect once, per day and dimension.

Handlers only route: `tallies` says what an event adds, `counters` counts it once in the
`aggregates` state store (the count and the event's id in one ETag-guarded write). An event counted
already (redelivered, or handled by another replica first) is logged and acknowledged.
"""

from __future__ import annotations

import logging
from datetime import UTC

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprStateStore
from functions.aggregator import counters, tallies
from functions.common import domain_events, names
from functions.common.domain_events import DunningEvent, EmailEvent

_log = logging.getLogger(__name__)
app = FunctionApp(names.AGGREGATOR)
store = DaprStateStore(names.AGGREGATES)


@app.topic(names.DOMAIN_EVENTS, domain_events.DUNNING, model=DunningEvent)
def on_dunning(event: DunningEvent) -> None:
    """Count a dunning effect under the day it happened (UTC)."""
    day = event.occurred_at.astimezone(UTC).date()
    dimensions = tallies.dunning_dimensions(event)
    if not counters.count(store, domain_events.DUNNING, day, event.event_id, dimensions):
        _log.info("counted already: %s", event.event_id)


@app.topic(names.DOMAIN_EVENTS, domain_events.EMAIL, model=EmailEvent)
def on_email(event: EmailEvent) -> None:
    """Count an email effect under the day it happened (UTC)."""
    day = event.occurred_at.astimezone(UTC).date()
    if not counters.count(store, domain_events.EMAIL, day, event.event_id, tallies.email_dimensions(event)):
        _log.info("counted already: %s", event.event_id)


if __name__ == "__main__":
    app.run()
