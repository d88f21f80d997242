"""Operator messages on the payment-events queue: `case.release` (version 1), sent by `bindery cases release`.

They travel beside the payment events and are handled the same way (typed, versioned, dead-lettered
with the reason when invalid or refused), so an operator never writes the state store directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from bindings.messages import Message

_ID = r"^[A-Za-z0-9_.:@-]{1,120}$"


class CaseRelease(Message):
    """An operator releases a held case: `resume` dunning on its schedule, or `close` it (canceled)."""

    type: Literal["case.release"]
    version: Literal[1] = 1
    event_id: str = Field(pattern=_ID, description="one per release: a redelivery is recognised by it")
    case_id: str = Field(pattern=_ID)
    decision: Literal["resume", "close"]
    reason: str = Field(max_length=500, description="why, for the case's timeline")
    operator: str = Field(pattern=_ID, description="who decided")
    requested_at: AwareDatetime

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("a release needs a reason")
        return value
