"""email-send as it runs, or with its publication taken out, for `bench/pubsub_publish.py`.

`BENCH_VARIANT`: empty, the app as it is; `no-publish`: its publisher does nothing (the record is
still read back and the `EmailEvent` built, but not encoded or sent to daprd); `no-event`: no
publication at all (`Sends.record`, read only to build the event, answers None: no read, no event).
The app is imported, not copied, so every other line runs as in production. With
`BENCH_PUBLISH_TIMES` (a file), the app as it is notes the calling thread's CPU time of each publish
(two clock reads around the call) and writes them there, a JSON list, once it has stopped.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from functions.email_send import app as email_send
from functions.email_send.sends import Sends

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bindings.ports import Publisher
    from functions.email_send.sends import SendRecord

VARIANT = os.environ.get("BENCH_VARIANT", "")
TIMES = os.environ.get("BENCH_PUBLISH_TIMES", "")


class NoPublisher:
    """A `Publisher` that publishes nothing."""

    def publish(self, topic: str, event: BaseModel, *, event_id: str) -> None:
        """Nothing."""


class TimedPublisher:
    """The app's own publisher; each call's CPU time in the calling thread is noted, in order."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.seconds: list[float] = []

    def publish(self, topic: str, event: BaseModel, *, event_id: str) -> None:
        """Publish through the app's publisher, timed by the thread's CPU clock."""
        began = time.thread_time()
        self.inner.publish(topic, event, event_id=event_id)
        self.seconds.append(time.thread_time() - began)


def _no_record(_sends: Sends, _request_id: str) -> SendRecord | None:
    return None


timed = TimedPublisher(email_send.email_events.publisher)
if VARIANT in {"no-publish", "no-event"}:
    email_send.email_events.publisher = NoPublisher()
elif TIMES:
    email_send.email_events.publisher = timed
if VARIANT == "no-event":
    Sends.record = _no_record  # type: ignore[method-assign, assignment]

if __name__ == "__main__":
    email_send.app.run()
    if TIMES:
        Path(TIMES).write_text(json.dumps(timed.seconds))
