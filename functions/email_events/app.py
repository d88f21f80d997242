"""email-events: verified SendGrid webhook batches from `email-events` → timelines and suppressions.

Once a batch is recorded, each of its lifecycle events is published on the `email` topic
(`publications`); a failed publish redelivers the batch, which adds nothing and publishes again.
"""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprPublisher, DaprStateStore
from bindings.errors import PermanentError
from functions.common import domain_events, names
from functions.common.messages import EmailEventBatch
from functions.email_events import publications
from functions.email_events.lifecycle import EVENTS, Lifecycle

_log = logging.getLogger(__name__)
# Announces each dead letter on domain-events (`DeadLetterEvent`, topic dead-letters).
app = FunctionApp(names.EMAIL_EVENTS, events=DaprPublisher(names.DOMAIN_EVENTS))
lifecycle = Lifecycle(DaprStateStore(names.EMAIL_STATE))
# The email topic of domain-events (no call until a batch).
email_events = domain_events.TopicQueue(DaprPublisher(names.DOMAIN_EVENTS), domain_events.EMAIL)


@app.queue(names.EMAIL_EVENTS, model=EmailEventBatch)
def on_batch(batch: EmailEventBatch) -> None:
    """Apply each event once; a batch that is not a JSON array of events is dead-lettered."""
    try:
        events = EVENTS.validate_python(json.loads(batch.body))
    except (ValueError, ValidationError) as error:
        raise PermanentError(f"batch {batch.batch_id} is not a list of SendGrid events: {error}") from error
    applied = lifecycle.apply(events)
    published = publications.events(applied.recorded)
    for event in published:  # after the whole batch is recorded; again on a redelivery (counted once)
        email_events.send(event)
    _log.info(
        "batch %s: %d events added, %d duplicates, %d untracked, %d addresses suppressed, %d published",
        batch.batch_id, applied.added, applied.duplicates, applied.untracked, applied.suppressed,
        len(published),
    )  # fmt: skip


if __name__ == "__main__":
    app.run()
