"""Stripe's v1 list requests (pure): an invoice's payments and a page of events, both `GET`s.

`invoice_payments` is how stripe-webhook finds the decline behind an `invoice.payment_failed`;
`list_events` is how `bindery stripe backfill` replays the events the intake missed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from functions.common.stripe import STRIPE_VERSION, StripeRequest, StripeWireError, checked_id, form_encode

if TYPE_CHECKING:
    from collections.abc import Sequence

    from functions.common.stripe import Param

_EVENT_TYPE = re.compile(r"^[a-z_]+(?:\.[a-z_]+)+$")  # invoice.payment_failed: no wildcard
MAX_EVENT_TYPES = 20  # `types[]` takes at most 20 names


def invoice_payments(*, invoice: str, limit: int = 1) -> StripeRequest:
    """List `invoice`'s payments, newest first, each InvoicePayment's PaymentIntent expanded.

    The newest payment's intent holds the last attempt's `last_payment_error`; `limit` 1 reads only it.
    """
    if not 1 <= limit <= 100:  # noqa: PLR2004 - Stripe's page sizes
        raise StripeWireError(f"limit {limit}: Stripe lists 1 to 100 objects a page")
    query = form_encode(
        {"invoice": checked_id("invoice", invoice), "limit": limit, "expand": ["data.payment.payment_intent"]}
    )
    path = f"/v1/invoice_payments?{query.decode('ascii')}"
    return StripeRequest(method="GET", path=path, body=b"", headers=(("Stripe-Version", STRIPE_VERSION),))


def list_events(
    *, types: Sequence[str], created_gte: int, created_lte: int | None = None, limit: int = 100,
    starting_after: str | None = None,
) -> StripeRequest:  # fmt: skip
    """A page of the events of `types` created from `created_gte` (to `created_lte`), newest first.

    Times are Unix seconds, both inclusive. `starting_after` (the last `evt_…` of a page) asks for the
    next, older page. Stripe keeps events 30 days.
    """
    if not 1 <= limit <= 100:  # noqa: PLR2004 - Stripe's page sizes
        raise StripeWireError(f"limit {limit}: Stripe lists 1 to 100 objects a page")
    if not 1 <= len(types) <= MAX_EVENT_TYPES or not all(_EVENT_TYPE.match(name) for name in types):
        raise StripeWireError(f"types {list(types)[:3]}…: 1 to 20 event names such as invoice.paid")
    if created_gte < 0 or (created_lte is not None and created_lte < created_gte):
        raise StripeWireError(f"created from {created_gte} to {created_lte}: not a range of Unix seconds")
    after = None if starting_after is None else checked_id("event", starting_after)
    created: dict[str, Param] = {"gte": created_gte, "lte": created_lte}
    params: dict[str, Param] = {
        "types": list(types),
        "created": created,
        "limit": limit,
        "starting_after": after,
    }
    path = f"/v1/events?{form_encode(params).decode('ascii')}"
    return StripeRequest(method="GET", path=path, body=b"", headers=(("Stripe-Version", STRIPE_VERSION),))
