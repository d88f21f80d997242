"""The shapes of the intake: a Stripe event as the mapping reads it, and what the mapping returns.

`StripeEvent` is a read-only view of a verified v1 event: its id, type, creation time and
`data.object`, with the checks every rule needs (an id Bindery takes, an email address, a time).
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, RootModel

from bindings.errors import PermanentError
from functions.common import addresses

if TYPE_CHECKING:
    from collections.abc import Mapping

_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,120}$")  # the ids Bindery's payment events take


class PaymentEvent(RootModel[dict[str, Any]]):
    """A Bindery payment event as the payment-events queue carries it (its consumer validates it)."""

    model_config = ConfigDict(frozen=True)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A genuine event Bindery takes no action on, and why."""

    reason: str


class UnmappableError(PermanentError):
    """A payment event Bindery would act on, lacking something it will not guess (an email)."""


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """One verified event: `obj` is its `data.object`, `data` its `data` (`previous_attributes`)."""

    id: str
    type: str
    created: int
    obj: dict[str, Any]
    data: Mapping[str, Any]

    def need(self, what: str, value: object) -> str:
        """`value` as an id, or `UnmappableError` naming `what` is missing."""
        found = id_of(value)
        if found is None:
            raise UnmappableError(f"{self.type} {self.id}: no {what}")
        if not _ID.match(found):
            raise UnmappableError(f"{self.type} {self.id}: {what} {found[:40]!r} is not an id Bindery takes")
        return found

    def email(self, field: str) -> str:
        """The address in `obj[field]`, or `UnmappableError`: an address is never guessed."""
        address = self.obj.get(field)
        if not isinstance(address, str) or not address:
            raise UnmappableError(f"{self.type} {self.id}: no {field}: no address to dun, none is guessed")
        if (problem := addresses.address_problem(address)) is not None:
            raise UnmappableError(f"{self.type} {self.id}: {field} is not an email address: {problem}")
        return address

    def at(self, seconds: int | None = None) -> str:
        """`seconds` (else the event's creation) as an ISO 8601 UTC time."""
        return datetime.fromtimestamp(self.created if seconds is None else seconds, UTC).isoformat()


def id_of(value: object) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
