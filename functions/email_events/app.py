"""email-events: verified SendGrid webhook batches from `email-events` → timelines and suppressions."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from bindings.app import FunctionApp
from bindings.dapr_ports import DaprStateStore
from bindings.errors import PermanentError
from functions.common import names
from functions.common.messages import EmailEventBatch
from functions.email_events.lifecycle import EVENTS, Lifecycle

_log = logging.getLogger(__name__)
app = FunctionApp(names.EMAIL_EVENTS)
lifecycle = Lifecycle(DaprStateStore(names.EMAIL_STATE))


@app.queue(names.EMAIL_EVENTS, model=EmailEventBatch)
def on_batch(batch: EmailEventBatch) -> None:
    """Apply each event once; a batch that is not a JSON array of events is dead-lettered."""
    try:
        events = EVENTS.validate_python(json.loads(batch.body))
    except (ValueError, ValidationError) as error:
        raise PermanentError(f"batch {batch.batch_id} is not a list of SendGrid events: {error}") from error
    applied = lifecycle.apply(events)
    _log.info(
        "batch %s: %d events added, %d duplicates, %d untracked, %d addresses suppressed",
        batch.batch_id, applied.added, applied.duplicates, applied.untracked, applied.suppressed,
    )  # fmt: skip


if __name__ == "__main__":
    app.run()
