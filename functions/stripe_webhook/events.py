"""The shapes of the intake: a Stripe event as the mapping reads it, and what the mapping returns.

`StripeEvent` is a read-only view of a verified v1 event: its id, type, creation time and
`data.object`, with the checks every rule needs (an id Bindery takes, an email address, a time).
`decline_of` reads a PaymentIntent's `last_payment_error`; `InvoiceDecline` is what the mapping asks
for an invoice's (`declines.InvoiceDeclines` asks Stripe). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import ConfigDict, RootModel

from bindings.errors import PermanentError
from functions.common import addresses, money
from functions.stripe_webhook.preferences import preferences

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,120}$")  # the ids Bindery's payment events take
GENERIC_DECLINE = "generic_decline"
"""Stripe's code for a decline of unknown reason: the decline table treats it as hard."""
_DECLINE_FIELDS = ("code", "decline_code", "advice_code")


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


InvoiceDecline: TypeAlias = "Callable[[str], dict[str, str]]"
"""An invoice's last decline, by invoice id; may raise `UnmappableError` or `TransientError`."""


def decline_of(error: object) -> dict[str, str]:
    """The decline in a `last_payment_error`: its non-empty codes, `generic_decline` without a `code`."""
    fields = error if isinstance(error, dict) else {}
    found = {key: fields[key] for key in _DECLINE_FIELDS if isinstance(fields.get(key), str) and fields[key]}
    return found if "code" in found else {"code": GENERIC_DECLINE} | found


def id_of(value: object) -> str | None:
    """An id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def failed_event(
    e: StripeEvent,
    *,
    payment: str,
    subscription: object,
    email: str,
    amount: int,
    decline: dict[str, str],
    payment_method: str | None,
    invoice: str | None = None,
    payment_page_url: str | None = None,
) -> PaymentEvent:
    """A `payment.failed` version 3 of `e`; `UnmappableError` for an amount no case can take.

    With the customer's `timezone` and `locale` when the object carries usable ones (`preferences`),
    and an invoice's hosted page when it has a safe one (`pages`).
    """
    currency = str(e.obj["currency"]).upper()
    try:
        money.check_minor(amount, currency)
    except ValueError as error:
        raise UnmappableError(f"{e.type} {e.id}: {error}") from error
    event = {
        "type": "payment.failed",
        "version": 3,
        "event_id": e.id,
        "payment_id": payment,
        "customer_id": e.need("customer", e.obj.get("customer")),
        "subscription_id": e.need("subscription", subscription),
        "email": email,
        "amount": amount,
        "currency": currency,
        "failed_at": e.at(),
        "decline": decline,
        "invoice": invoice,
        "payment_method": payment_method,
        "payment_page_url": payment_page_url,
    } | preferences(e.obj, f"{e.type} {e.id}")
    return PaymentEvent({key: value for key, value in event.items() if value is not None})


def succeeded_event(e: StripeEvent, payment: str, at: str) -> PaymentEvent:
    """A `payment.succeeded` of `payment` at `at`."""
    return PaymentEvent(
        {
            "type": "payment.succeeded",
            "version": 1,
            "event_id": e.id,
            "payment_id": payment,
            "succeeded_at": at,
        }
    )
