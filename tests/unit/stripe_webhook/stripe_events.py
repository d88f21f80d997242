"""Stripe v1 event bodies as Stripe renders them at 2026-08-26.dahlia, and signatures as Stripe makes them.

The fields are those of the Event, Invoice, PaymentIntent, PaymentMethod, SetupIntent and Customer
schemas in stripe-mock v0.203.0's spec3.json (the spec of the pinned version). Each builder returns a
realistic object with the fields the intake reads and a few it does not; `**changes` replaces fields.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from functions.common.stripe import STRIPE_VERSION

SECRET = "whsec_test_3f9c2a71d0b84e6a9f11c5e2b7d4a680"
OLD_SECRET = "whsec_test_old_8b1e04c6f2a94d7e3c5b9a1f0e6d2c47"
CREATED = 1_788_000_000  # 2026-08-29 (UTC), an event's `created`
CUSTOMER = "cus_QZr8mK2vT4xLpN"
SUBSCRIPTION = "sub_1QZr9aK2vT4xLpNc8Yb2Hs1W"
INVOICE = "in_1QZrA7K2vT4xLpNcF3u9Jd0E"
INTENT = "pi_3QZrA8K2vT4xLpNc0mVq2R5s"
METHOD = "pm_1QZr7wK2vT4xLpNcUe6tGh3k"
NEW_METHOD = "pm_1QZsB2K2vT4xLpNcP4w8Lz9q"
EMAIL = "mara.lindqvist@example.com"


def event(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str = "evt_1QZrA9K2vT4xLpNcW7e1Xk3b",
    previous: dict[str, Any] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A v1 snapshot event carrying `obj` as `data.object`."""
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    body = {
        "id": event_id,
        "object": "event",
        "api_version": STRIPE_VERSION,
        "created": CREATED,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "request": {"id": None, "idempotency_key": None},
    }
    return body | changes


def invoice(**changes: Any) -> dict[str, Any]:
    """An open subscription invoice of 29.00 EUR whose automatic payment failed, Stripe not retrying it."""
    body = {
        "id": INVOICE,
        "object": "invoice",
        "account_country": "DE",
        "account_name": "Bindery Demo GmbH",
        "amount_due": 2900,
        "amount_overpaid": 0,
        "amount_paid": 0,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 2900,
        "amount_shipping": 0,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": True,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": CREATED - 3600,
        "currency": "eur",
        "customer": CUSTOMER,
        "customer_email": EMAIL,
        "customer_name": "Mara Lindqvist",
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "discounts": [],
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test",
        "issuer": {"type": "self"},
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": "B1D3-0007",
        "lines": {"object": "list", "data": [], "has_more": False, "url": f"/v1/invoices/{INVOICE}/lines"},
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": SUBSCRIPTION},
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": CREATED - 3600,
        "period_start": CREATED - 3600 - 30 * 86400,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0,
        "status": "open",
        "status_transitions": {
            "finalized_at": CREATED - 60,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subtotal": 2900,
        "total": 2900,
    }
    return body | changes


def paid_invoice(**changes: Any) -> dict[str, Any]:
    """The invoice of `invoice()`, paid an hour after the event that reported its failure."""
    transitions = {
        "finalized_at": CREATED - 60,
        "marked_uncollectible_at": None,
        "paid_at": CREATED + 3600,
        "voided_at": None,
    }
    paid = {"status": "paid", "amount_paid": 2900, "amount_remaining": 0, "status_transitions": transitions}
    return invoice(**paid) | changes


def card_error(**changes: Any) -> dict[str, Any]:
    """A PaymentIntent's `last_payment_error`: an issuer decline for insufficient funds."""
    body = {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "advice_code": "try_again_later",
        "charge": "ch_3QZrA8K2vT4xLpNc0Yh1Lw2P",
        "doc_url": "https://docs.stripe.com/error-codes/card-declined",
        "message": "Your card has insufficient funds.",
        "network_decline_code": "51",
        "payment_method": payment_method(),
        "payment_method_type": "card",
    }
    return body | changes


def payment_intent(**changes: Any) -> dict[str, Any]:
    """A failed off-session PaymentIntent of 12.50 EUR for a subscription billed outside Stripe Billing."""
    body = {
        "id": INTENT,
        "object": "payment_intent",
        "amount": 1250,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic_async",
        "confirmation_method": "automatic",
        "created": CREATED - 5,
        "currency": "eur",
        "customer": CUSTOMER,
        "description": "Plan Pro, September",
        "latest_charge": "ch_3QZrA8K2vT4xLpNc0Yh1Lw2P",
        "last_payment_error": card_error(),
        "livemode": False,
        "metadata": {"bindery_subscription": SUBSCRIPTION},
        "payment_method": None,
        "payment_method_types": ["card"],
        "receipt_email": EMAIL,
        "setup_future_usage": None,
        "status": "requires_payment_method",
    }
    return body | changes


def payment_method(**changes: Any) -> dict[str, Any]:
    """A card saved to the customer."""
    body = {
        "id": METHOD,
        "object": "payment_method",
        "created": CREATED - 86400 * 200,
        "customer": CUSTOMER,
        "livemode": False,
        "type": "card",
        "metadata": {},
        "allow_redisplay": "unspecified",
        "billing_details": {"address": None, "email": EMAIL, "name": "Mara Lindqvist", "phone": None},
        "card": {
            "brand": "visa",
            "country": "SE",
            "exp_month": 4,
            "exp_year": 2029,
            "funding": "credit",
            "last4": "4242",
        },
    }
    return body | changes


def setup_intent(**changes: Any) -> dict[str, Any]:
    """A succeeded SetupIntent that saved a new card for off-session use."""
    body = {
        "id": "seti_1QZsB1K2vT4xLpNc9Rk3Vd2m",
        "object": "setup_intent",
        "created": CREATED - 30,
        "customer": CUSTOMER,
        "livemode": False,
        "payment_method": NEW_METHOD,
        "payment_method_types": ["card"],
        "status": "succeeded",
        "usage": "off_session",
        "last_setup_error": None,
        "metadata": {},
    }
    return body | changes


def customer(default_method: str | None = NEW_METHOD, **changes: Any) -> dict[str, Any]:
    """The customer, with `default_method` as its invoices' default payment method."""
    settings = {
        "custom_fields": None,
        "default_payment_method": default_method,
        "footer": None,
        "rendering_options": None,
    }
    body = {
        "id": CUSTOMER,
        "object": "customer",
        "created": CREATED - 86400 * 400,
        "email": EMAIL,
        "invoice_settings": settings,
        "livemode": False,
        "metadata": {},
        "name": "Mara Lindqvist",
        "preferred_locales": ["sv"],
        "delinquent": True,
        "balance": 0,
    }
    return body | changes


def raw(body: dict[str, Any]) -> bytes:
    """The bytes Stripe would post: JSON as Stripe pretty-prints it."""
    return json.dumps(body, indent=2).encode()


def signature(body: bytes, *secrets: str, at: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=…` and one `v1=` HMAC-SHA256 of `f"{t}.{body}"` per secret."""
    t = int(time.time()) if at is None else at
    signed = f"{t}.".encode() + body
    values = [f"v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}" for secret in secrets]
    return ",".join([f"t={t}", *values])
