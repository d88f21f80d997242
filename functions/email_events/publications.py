"""The domain events email-events publishes (`EmailEvent` on the `email` topic), after the batch is recorded.

Each SendGrid event on a request's timeline (added now, or by an earlier delivery of the batch) owes one:

| SendGrid        | EmailEvent                                     |
|-----------------|------------------------------------------------|
| `delivered`     | `email.delivered`                              |
| `open`, `click` | `email.opened`, `email.clicked`                |
| `bounce`        | `email.bounced`, `permanent` unless `blocked`  |
| `dropped`       | `email.suppressed` (SendGrid did not send it)  |

`processed` (email-send publishes `email.sent`), `deferred` (SendGrid still trying), `spamreport`,
`unsubscribe`, `group_unsubscribe` (they feed the suppression list) and unknown events: none. Events
without our `request_id` are on no timeline: none either. The id is the request's and the `sg_event_id`'s
(`email_event_id`), so a redelivered batch or an event SendGrid repeats publishes the same id again,
which the aggregator counts once. The app publishes after `Lifecycle.apply` recorded the whole batch: a
publish that fails raises `TransientError`, the batch is redelivered, adds nothing and publishes again.
The template and case come from the mail's custom args (`email_template`, `case_id`); a mail sent
before email-send set them counts under the template `unknown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.domain_events import (
    ID,
    TEMPLATE,
    UNKNOWN_TEMPLATE,
    EmailEvent,
    EmailEventType,
    email_event_id,
    fits,
)

if TYPE_CHECKING:
    from functions.email_events.lifecycle import SendGridEvent

_TYPES: dict[str, EmailEventType] = {
    "delivered": "email.delivered",
    "open": "email.opened",
    "click": "email.clicked",
    "bounce": "email.bounced",
    "dropped": "email.suppressed",
}


def events(recorded: list[SendGridEvent]) -> list[EmailEvent]:
    """The events `recorded` (SendGrid's, on their timelines) owe, in order."""
    return [event for item in recorded if (event := _event(item)) is not None]


def _event(item: SendGridEvent) -> EmailEvent | None:
    kind = _TYPES.get(item.event)
    request_id = item.request_id
    if kind is None or not fits(request_id, ID):
        return None
    template = item.email_template
    case_id = item.case_id
    return EmailEvent(
        type=kind,
        event_id=email_event_id(kind, request_id, item.sg_event_id),
        request_id=request_id,
        template=template if fits(template, TEMPLATE) else UNKNOWN_TEMPLATE,
        occurred_at=item.at,
        case_id=case_id if fits(case_id, ID) else None,
        provider_event_id=item.sg_event_id,
        permanent=item.type != "blocked" if kind == "email.bounced" else None,
    )
