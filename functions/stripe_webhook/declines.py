"""The decline of an invoice's failed payment, asked of Stripe (`InvoiceDeclines`, an `InvoiceDecline`).

At 2026-08-26.dahlia an Invoice holds no payment error; its payments are InvoicePayments, each naming
the PaymentIntent that tried. One request (`stripe_lists.invoice_payments`: `GET /v1/invoice_payments?
invoice=in_…&limit=1&expand[0]=data.payment.payment_intent`, newest first) reads the newest payment's
intent, and its `last_payment_error` (`code`, `decline_code`, `advice_code`) is the decline:

- found: that decline (`generic_decline` for an error without a `code`);
- no payments, a payment that is not a PaymentIntent, or an intent without an error: `generic_decline`,
  Stripe's code for a decline of unknown reason (hard: the case waits for a new card), the reason logged;
- no answer, 429, 5xx (or 1xx/3xx): `TransientError`, so the intake answers 503 and Stripe delivers the
  event again; a decline is never guessed while Stripe could still say;
- any other 4xx, or a 2xx that is not a list of InvoicePayments: `UnmappableError` with Stripe's reason,
  API keys masked (`stripe_answers.mask_keys`): the intake refuses the event, as any it cannot map.

The request goes through a `StripeTransport`: in the app, the `payment-gateway` binding, whose
component adds the secret key (a restricted key needs *Read* on **Invoices** for this).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bindings.errors import TransientError
from functions.common import stripe, stripe_lists
from functions.common.stripe_answers import mask_keys, parse_body, quote_body
from functions.stripe_webhook.events import GENERIC_DECLINE, UnmappableError, decline_of

if TYPE_CHECKING:
    from functions.common.stripe_gateway import StripeTransport

_log = logging.getLogger(__name__)
_TOO_MANY = 429


class InvoiceDeclines:
    """The decline of an invoice's newest payment, read from Stripe through `transport`."""

    def __init__(self, transport: StripeTransport) -> None:
        self.transport = transport

    def __call__(self, invoice: str) -> dict[str, str]:
        """The decline (rules in the module docstring); `TransientError` or `UnmappableError` otherwise."""
        try:
            request = stripe_lists.invoice_payments(invoice=invoice)
        except stripe.StripeWireError as wrong:
            raise UnmappableError(f"invoice {invoice[:60]!r}: no decline asked: {wrong}") from wrong
        answer = self.transport.send(request)  # TransientError: no answer at all
        described = f"Stripe answered {answer.status} to the payments of {invoice}"
        listed = parse_body(answer.body)
        if 400 <= answer.status < 500 and answer.status != _TOO_MANY:  # noqa: PLR2004 - the 4xx range
            error = listed.get("error") if isinstance(listed, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise UnmappableError(mask_keys(f"{described}: {message or quote_body(answer.body)}"))
        if not 200 <= answer.status < 300:  # noqa: PLR2004 - 429, 5xx, and 1xx/3xx: ask again later
            raise TransientError(described)
        if not isinstance(listed, dict) or listed.get("object") != "list":
            raise UnmappableError(mask_keys(f"{described}, not a list: {quote_body(answer.body)}"))
        return _newest(invoice, listed.get("data"))


def _newest(invoice: str, data: object) -> dict[str, str]:
    if not isinstance(data, list) or not data:
        return _unknown(invoice, "Stripe lists no payment of it")
    payment = data[0].get("payment") if isinstance(data[0], dict) else None
    intent = payment.get("payment_intent") if isinstance(payment, dict) else None
    if not isinstance(intent, dict):
        what = "a payment" if intent is None else "an unexpanded PaymentIntent"
        return _unknown(invoice, f"its newest payment ({_id(data[0])}) names {what}, no PaymentIntent")
    error = intent.get("last_payment_error")
    if not isinstance(error, dict) or not error:
        reason = f"its newest PaymentIntent {_id(intent)} ({intent.get('status')}) holds no payment error"
        return _unknown(invoice, reason)
    return decline_of(error)


def _unknown(invoice: str, reason: str) -> dict[str, str]:
    _log.warning("invoice %s: %s; its decline is %s", invoice, reason, GENERIC_DECLINE)
    return {"code": GENERIC_DECLINE}


def _id(obj: dict[str, Any]) -> str:
    return str(obj.get("id"))[:60]
