"""Each email's lifecycle from SendGrid's events, and the suppression list, over a `StateStore`.

`timeline:{request_id}` holds the events of one email, ordered by their own timestamps (SendGrid
sends them late and out of order), each once: an `sg_event_id` already present is a duplicate.
The email's status is its furthest event, so `delivered` arriving after `open` changes nothing.
The suppression list (`functions.common.suppression`) gets the addresses that must not be mailed again:
a hard bounce (a `bounce` whose `type` is not `blocked`), a spam report, or an unsubscribe.
Events name our request in the `request_id` custom argument; events without one (mail not sent
through the SendGrid API by us) only feed suppression.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bindings.errors import ConflictError
from bindings.optimistic import retry_conflicts, write_back
from functions.common import suppression

if TYPE_CHECKING:
    from bindings.ports import StateStore

_log = logging.getLogger(__name__)
_TRIES = 20
# How far along an email is; a later event never moves it back.
RANK = {
    "processed": 1, "deferred": 2, "delivered": 3, "open": 4, "click": 5,
    "bounce": 6, "dropped": 6, "spamreport": 7, "unsubscribe": 7, "group_unsubscribe": 7,
}  # fmt: skip


class SendGridEvent(BaseModel):
    """One event of a webhook POST; fields we do not use are ignored (SendGrid adds new ones)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    event: str = Field(min_length=1, max_length=40)
    email: str = Field(min_length=3, max_length=320)
    timestamp: int
    sg_event_id: str = Field(min_length=1, max_length=200)
    request_id: str | None = Field(default=None, max_length=120)
    email_template: str | None = Field(default=None, max_length=40)  # email-send's custom args
    case_id: str | None = Field(default=None, max_length=120)
    type: str | None = None  # bounce or blocked, on bounce events
    reason: str | None = None

    @property
    def at(self) -> datetime:
        """When the event happened."""
        return datetime.fromtimestamp(self.timestamp, UTC)

    @property
    def suppresses(self) -> bool:
        """Whether the address must not be mailed again."""
        return (self.event == "bounce" and self.type != "blocked") or self.event in {
            "spamreport",
            "unsubscribe",
        }


EVENTS = TypeAdapter(list[SendGridEvent])


class Entry(BaseModel):
    """One line of an email's timeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    at: datetime
    event: str
    sg_event_id: str
    detail: str = ""


class Timeline(BaseModel):
    """Everything SendGrid told us about one email (record version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: Literal[1] = 1
    request_id: str
    email: str
    entries: tuple[Entry, ...] = ()

    @property
    def status(self) -> str:
        """The furthest event reached."""
        return max(
            (entry.event for entry in self.entries), key=lambda event: RANK.get(event, 0), default="sent"
        )


@dataclass
class Applied:
    """What one batch changed."""

    added: int = 0
    duplicates: int = 0
    suppressed: int = 0
    untracked: int = 0
    recorded: list[SendGridEvent] = field(default_factory=list)  # on their timeline: added or already


class Lifecycle:
    """Timelines and the suppression list."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def apply(self, events: list[SendGridEvent]) -> Applied:
        """Add each event once; idempotent, so a redelivered batch changes nothing (but `recorded`)."""
        applied = Applied()
        for event in events:
            if event.request_id is None:
                applied.untracked += 1
            else:
                if self._append(event):
                    applied.added += 1
                else:
                    applied.duplicates += 1
                applied.recorded.append(event)
            if event.suppresses and self._suppress(event):
                applied.suppressed += 1
        return applied

    def timeline(self, request_id: str) -> Timeline | None:
        """The timeline of `request_id`, if any event named it."""
        value = self._state.get(f"timeline:{request_id}").value
        return Timeline.model_validate_json(value) if value else None

    def _append(self, event: SendGridEvent) -> bool:
        key = f"timeline:{event.request_id}"
        detail = " ".join(part for part in (event.type, event.reason) if part)
        entry = Entry(at=event.at, event=event.event, sg_event_id=event.sg_event_id, detail=detail[:300])

        def once() -> bool:
            item = self._state.get(key)
            timeline = (
                Timeline.model_validate_json(item.value)
                if item.value
                else Timeline(request_id=str(event.request_id), email=event.email)
            )
            if any(known.sg_event_id == event.sg_event_id for known in timeline.entries):
                return False
            entries = tuple(sorted((*timeline.entries, entry), key=lambda e: (e.at, RANK.get(e.event, 0))))
            write_back(
                self._state, item, timeline.model_copy(update={"entries": entries}).model_dump_json().encode()
            )
            return True

        return retry_conflicts(once, tries=_TRIES)

    def _suppress(self, event: SendGridEvent) -> bool:
        record = {
            "reason": event.event,
            "type": event.type,
            "at": event.at.isoformat(),
            "sg_event_id": event.sg_event_id,
        }
        try:
            self._state.create(suppression.key(event.email), json.dumps(record).encode())
        except ConflictError:
            return False
        _log.info("suppressed %s after %s", event.email, event.event)
        return True
