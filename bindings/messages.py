"""The base of every versioned message, its queue encoding, the dead-letter record and its event."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Message(BaseModel):
    """Base of every queue message: frozen, strict about unknown fields, versioned.

    A subclass pins its version with `version: Literal[N] = N`; a handler that accepts
    several versions takes a discriminated union on `version`, so an unknown version is a
    validation error (a dead letter with the reason), never a guess.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int


def encode_message(message: BaseModel) -> bytes:
    """The queue text of `message`: compact JSON, non-ASCII escaped, so any consumer reads it."""
    return json.dumps(message.model_dump(mode="json"), ensure_ascii=True, separators=(",", ":")).encode(
        "ascii"
    )


# The blob output binding every app writes its dead letters through (one component, in every app's scope).
DEAD_LETTERS: Final = "dead-letters"


# The topic every app that is given a publisher announces its dead letters on (`DeadLetterEvent`).
DEAD_LETTER_TOPIC: Final = "dead-letters"
REASON_LIMIT: Final = 500  # of a reason on its event (the record keeps it whole)
DeadLetterKind = Literal["invalid", "permanent", "exhausted"]


def dead_letter_id(app: str, source: str, message_id: str | None) -> str:
    """A record's id: a digest of app, source and message id, so a redelivered message keeps its record.

    A message dead-lettered again (its acknowledgement or its event was lost, and it came back) is
    written under the same name and announced with the same event id. Without a message id, a random id.
    """
    if message_id is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{app}\n{source}\n{message_id}".encode()).hexdigest()[:32]


class DeadLetter(BaseModel):
    """A message that could not be handled, with everything needed to redrive it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    id: str
    app: str
    source: str = Field(description="the input binding the message came from")
    reason: str
    kind: DeadLetterKind
    dequeue_count: int
    message_id: str | None = None
    dead_lettered_at: datetime
    body_b64: str = Field(description="the message text exactly as the binding delivered it")

    @staticmethod
    def encode_body(body: bytes) -> str:
        """Encode a message body for `body_b64`."""
        return base64.b64encode(body).decode("ascii")

    @property
    def body(self) -> bytes:
        """The original message body."""
        return base64.b64decode(self.body_b64)

    def blob_name(self) -> str:
        """Where this record is stored: one JSON blob a record, by day, under the source binding."""
        day = self.dead_lettered_at.strftime("%Y/%m/%d")
        return f"{self.source}/{day}/{self.id}.json"


class DeadLetterEvent(Message):
    """A dead letter was written (version 1): announced on `DEAD_LETTER_TOPIC` once its record is stored.

    `event_id` is the record's id (`dead_letter_id`): the same message dead-lettered again is the same
    event. `reason` is the record's, cut to 500 characters (the record keeps it whole); `blob` names the
    record in the dead-letter container; `occurred_at` is when it was dead-lettered.
    """

    version: Literal[1] = 1
    type: Literal["dead_letter.written"] = "dead_letter.written"
    event_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    app: str = Field(min_length=1, max_length=200)  # whatever the app is named: never a reason to refuse
    source: str = Field(min_length=1, max_length=400)  # a binding, or `pubsub/topic`
    kind: DeadLetterKind
    reason: str = Field(max_length=REASON_LIMIT)
    dequeue_count: int = Field(ge=1)
    message_id: str | None = Field(default=None, max_length=200)
    blob: str = Field(min_length=1, max_length=400)
    occurred_at: AwareDatetime

    @classmethod
    def of(cls, record: DeadLetter) -> DeadLetterEvent:
        """The event announcing `record`."""
        return cls(
            event_id=record.id, app=record.app, source=record.source, kind=record.kind,
            reason=record.reason[:REASON_LIMIT], dequeue_count=record.dequeue_count,
            message_id=None if record.message_id is None else record.message_id[:200],
            blob=record.blob_name(), occurred_at=record.dead_lettered_at,
        )  # fmt: skip
