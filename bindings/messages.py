"""The base of every versioned message, its queue encoding, and the dead-letter record."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class DeadLetter(BaseModel):
    """A message that could not be handled, with everything needed to redrive it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    id: str
    app: str
    source: str = Field(description="the input binding the message came from")
    reason: str
    kind: Literal["invalid", "permanent", "exhausted"]
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
