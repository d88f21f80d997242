"""InvoicePayments as Stripe lists them at 2026-08-26.dahlia, and the decline the intake's tests look up.

The fields are those of spec3.json's `invoice_payment` (stripe-mock v0.203.0), each with its
PaymentIntent expanded as `GET /v1/invoice_payments?expand[]=data.payment.payment_intent` answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from functions.common.stripe import StripeAnswer, StripeRequest
from tests.unit.stripe_webhook.stripe_events import CREATED, INVOICE, payment_intent

SOFT = {"code": "card_declined", "decline_code": "insufficient_funds", "advice_code": "try_again_later"}
"""The decline of `stripe_events.card_error()`: what the lookup finds for INVOICE."""


def looked_up(invoice: str) -> dict[str, str]:
    """An `InvoiceDecline` that answers SOFT for INVOICE (any other invoice fails the test)."""
    assert invoice == INVOICE, invoice
    return dict(SOFT)


def invoice_payment(intent: dict[str, Any] | str | None = None, **changes: Any) -> dict[str, Any]:
    """An InvoicePayment of INVOICE, its PaymentIntent expanded (by default the failed `payment_intent()`)."""
    intent = payment_intent(metadata={}, amount=2900) if intent is None else intent
    body = {
        "id": "inpay_1QZrA8K2vT4xLpNc5dGs7Hq1",
        "object": "invoice_payment",
        "amount_paid": None,
        "amount_requested": 2900,
        "created": CREATED - 5,
        "currency": "eur",
        "invoice": INVOICE,
        "is_default": True,
        "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": intent},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }
    return body | changes


def listed(*payments: dict[str, Any]) -> StripeAnswer:
    """A 200 answer listing `payments` (newest first) as Stripe's list object."""
    body = {"object": "list", "data": list(payments), "has_more": False, "url": "/v1/invoice_payments"}
    return StripeAnswer(200, json.dumps(body).encode())


@dataclass
class Recording:
    """A transport that records each request and answers with `answer`, or raises `error`."""

    answer: StripeAnswer = field(default_factory=lambda: listed(invoice_payment()))
    error: Exception | None = None
    sent: list[StripeRequest] = field(default_factory=list)

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Record, then answer."""
        self.sent.append(request)
        if self.error is not None:
            raise self.error
        return self.answer
