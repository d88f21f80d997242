"""What happens to a message that failed: acknowledge, leave for redelivery, or dead-letter.

Pure decisions, no Dapr: `FunctionApp` applies them. A storage-queue message the app does
not acknowledge becomes visible again after the binding's `visibilityTimeout`, with
`dequeueCount` one higher; nothing upstream ever gives up, so this is where we do.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

from bindings.errors import PermanentError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_MAX_ATTEMPTS = 5
_log = logging.getLogger(__name__)


class Failure(enum.StrEnum):
    """Why handling failed."""

    INVALID = "invalid"
    PERMANENT = "permanent"
    TRANSIENT = "transient"


class Verdict(enum.StrEnum):
    """What to do with the message."""

    RETRY = "retry"
    DEAD_LETTER = "dead-letter"


def classify(error: BaseException) -> Failure:
    """A handler's `PermanentError` is permanent; anything else may pass, so it is transient."""
    return Failure.PERMANENT if isinstance(error, PermanentError) else Failure.TRANSIENT


def decide(failure: Failure, attempt: int, max_attempts: int) -> Verdict:
    """Dead-letter invalid and permanent failures at once; retry transient ones `max_attempts` times."""
    if failure is Failure.TRANSIENT and attempt < max_attempts:
        return Verdict.RETRY
    return Verdict.DEAD_LETTER


def dequeue_count(binding_metadata: Mapping[str, str]) -> int:
    """Return the delivery attempt from the binding's `dequeueCount` (a string), 1 when absent or bad."""
    raw = binding_metadata.get("dequeueCount", "")
    try:
        count = int(raw)
    except ValueError:
        _log.warning("binding metadata has no usable dequeueCount (%r): counting this as attempt 1", raw[:40])
        return 1
    return max(count, 1)
