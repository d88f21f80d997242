"""The domain events email-send publishes (`EmailEvent` on the `email` topic), after the send is recorded.

`email.sent` once the request's record says `sent`, `email.suppressed` once it says `suppressed`. None
for `unknown` (whether the mail left is not known) nor `sending` (another delivery holds the request and
publishes). The event is built from the record, read after `Sends.deliver`: a redelivered request finds
the record, sends nothing and publishes the same event (same id, same time) again. A publish that fails
raises `TransientError`, so the request is redelivered and its retry publishes: at least once, and the
aggregator counts each id once.

The mail carries `tags` as custom args, which SendGrid repeats on each event of it, so email-events can
name the request, its template and its case.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from functions.common.domain_events import ID, EmailEvent, EmailEventType, email_event_id, fits

if TYPE_CHECKING:
    from functions.common.messages import EmailRequested
    from functions.email_send.sends import SendRecord

_TYPES: dict[str, EmailEventType] = {"sent": "email.sent", "suppressed": "email.suppressed"}


def case_of(request: EmailRequested) -> str | None:
    """The dunning case the request's data names (`case_id`), if it names one that is a valid id."""
    value = request.data.get("case_id")
    return value if fits(value, ID) else None


def tags(request: EmailRequested) -> dict[str, str]:
    """The mail's custom args: `request_id`, `email_template`, and `case_id` when the data names one."""
    found = {"request_id": request.request_id, "email_template": request.template}
    case_id = case_of(request)
    return found if case_id is None else {**found, "case_id": case_id}


def event(request: EmailRequested, record: SendRecord | None) -> EmailEvent | None:
    """The event the request's record owes: `email.sent` or `email.suppressed`, else none."""
    if record is None or record.status not in _TYPES:
        return None
    kind = _TYPES[record.status]
    at = record.updated_at
    return EmailEvent(
        type=kind,
        event_id=email_event_id(kind, request.request_id),
        request_id=request.request_id,
        template=request.template,
        occurred_at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        case_id=case_of(request),
    )
