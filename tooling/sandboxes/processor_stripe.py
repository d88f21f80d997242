"""The processor sandbox's Stripe objects: API keys, errors, PaymentIntent, Invoice and InvoicePayment bodies.

Pure: no HTTP, no files. A check that fails raises `Refusal`, which carries the status and the Stripe
error body to answer with; nothing refused is stored under an idempotency key.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from bindings.errors import BinderyError

_ALPHABET = string.ascii_letters + string.digits
_DECLINES: dict[str, tuple[dict[str, str], str]] = {
    "soft": (
        {"code": "card_declined", "decline_code": "insufficient_funds"},
        "Your card has insufficient funds.",
    ),
    "hard": ({"code": "expired_card"}, "Your card has expired."),
    "fraud": ({"code": "card_declined", "decline_code": "stolen_card"}, "Your card was declined."),
    "advice": (
        {"code": "card_declined", "decline_code": "do_not_honor", "advice_code": "try_again_later"},
        "Your card was declined.",
    ),
    "auth": (
        {"code": "authentication_required", "decline_code": "authentication_required"},
        "Your card was declined. This transaction requires authentication.",
    ),
}
DECLINES = frozenset(_DECLINES)
"""The outcomes that decline: a 402 card_error."""
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using "
    "Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication"
    " for details, or we can help at https://support.stripe.com/."
)


class Answer(NamedTuple):
    """An HTTP answer: status, body, whether it replays a stored one, and its content type."""

    status: int
    body: bytes
    replayed: bool = False
    content_type: str = "application/json"


def error_body(kind: str, message: str, **fields: str) -> dict[str, Any]:
    """A Stripe error object: `{"error": {"type": kind, **fields, "message": message}}`."""
    return {"error": {"type": kind, **fields, "message": message}}


class Refusal(BinderyError):  # noqa: N818 - a refusal is an answer, not a failure of the sandbox
    """A request the sandbox answers with a Stripe error and does not execute (nothing is stored)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", **fields: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(kind, message, **fields)


def new_id(prefix: str) -> str:
    """A Stripe-looking id: `prefix_` and 24 random letters and digits."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def mask(key: str) -> str:
    """An API key as Stripe's errors show it: the first 8 and last 4 characters, a `*` for each other one."""
    if len(key) > 12:  # noqa: PLR2004 - 8 shown + 4 shown
        return key[:8] + "*" * (len(key) - 12) + key[-4:]
    hidden = len(key) - min(4, len(key) // 2)  # a short key: at most half of it shown, at the end
    return "*" * hidden + key[hidden:]


def check_key(authorization: str | None) -> None:
    """Refuse (401) a request without `Authorization: Bearer sk_test_…` (any test secret key)."""
    value = (authorization or "").strip()
    key = value[len("Bearer ") :].strip() if value[:7].lower() == "bearer " else value
    if not key:
        raise Refusal(401, _NO_KEY)
    if not key.startswith("sk_test_") or len(key) <= len("sk_test_"):
        raise Refusal(401, f"Invalid API Key provided: {mask(key)}")


@dataclass(frozen=True, slots=True)
class Intent:
    """A payment to attempt: what a PaymentIntent form asks, or what an invoice's `/pay` charges."""

    amount: int
    currency: str
    customer: str
    payment_method: str | None
    case_id: str
    attempt: int


def payment_intent(
    intent: Intent, pi_id: str, charge: str, outcome: str, metadata: dict[str, str]
) -> dict[str, Any]:
    """The PaymentIntent an outcome leaves: succeeded, or requires_payment_method and last_payment_error."""
    declined = outcome in _DECLINES
    body: dict[str, Any] = {
        "id": pi_id, "object": "payment_intent", "amount": intent.amount,
        "amount_received": 0 if declined else intent.amount, "currency": intent.currency,
        "customer": intent.customer, "payment_method": intent.payment_method,
        "status": "requires_payment_method" if declined else "succeeded", "latest_charge": charge,
    }  # fmt: skip
    if declined:
        fields, message = _DECLINES[outcome]
        body["last_payment_error"] = {"type": "card_error", **fields, "message": message}
    return body | {"metadata": metadata, "livemode": False, "created": int(time.time())}


def card_error(intent: dict[str, Any]) -> dict[str, Any]:
    """The 402 body for a declined PaymentIntent: its error's fields, the charge, and the intent."""
    error = intent["last_payment_error"]
    return {"error": {**error, "charge": intent["latest_charge"], "payment_intent": intent}}


def invoice(record: dict[str, Any], *, paid_at: int | None, attempts: int, url: str) -> dict[str, Any]:
    """The Invoice object for a sandbox invoice `record`: open, or paid at `paid_at` (Unix seconds).

    Charged automatically and never retried by the sandbox itself (`next_payment_attempt` null); a
    record with a subscription has Stripe's `parent.subscription_details`, one with an email its
    `customer_email`, its `metadata` (`{}` without): what the stripe-webhook intake reads of an
    `invoice.*` event.
    """
    paid, amount = paid_at is not None, record["amount"]
    subscription = record.get("subscription")
    parent = subscription and {
        "type": "subscription_details", "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": subscription},
    }  # fmt: skip
    return {
        "id": record["id"], "object": "invoice", "status": "paid" if paid else "open",
        "customer": record["customer"], "customer_email": record.get("email"), "currency": record["currency"],
        "amount_due": amount, "amount_paid": amount if paid else 0, "amount_remaining": 0 if paid else amount,
        "attempt_count": attempts, "attempted": attempts > 0, "collection_method": "charge_automatically",
        "next_payment_attempt": None, "parent": parent or None, "created": seconds(record["time"]),
        "status_transitions": {"paid_at": paid_at}, "hosted_invoice_url": url, "livemode": False,
        "metadata": record.get("metadata") or {},
    }  # fmt: skip


def seconds(iso: str) -> int:
    """An ISO 8601 time (as the ledger keeps them) in Unix seconds, as Stripe's objects give times."""
    return int(datetime.fromisoformat(iso).timestamp())


def derived_id(prefix: str, seed: str) -> str:
    """A Stripe-looking id that is the same for the same `seed` (an object rebuilt from the ledger)."""
    return prefix + "_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def invoice_payment(line: dict[str, Any], *, expand: bool) -> dict[str, Any]:
    """The InvoicePayment of one invoice-mode ledger `line`, its PaymentIntent expanded if `expand`."""
    intent = _attempt_intent(line)
    paid = intent["status"] == "succeeded"
    at = seconds(line["time"])
    return {
        "id": derived_id("inpay", line["key"]), "object": "invoice_payment",
        "amount_paid": line["amount"] if paid else None, "amount_requested": line["amount"], "created": at,
        "currency": line["currency"], "invoice": line["invoice"], "is_default": False, "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": intent if expand else intent["id"]},
        "status": "paid" if paid else "open",
        "status_transitions": {"canceled_at": None, "paid_at": at if paid else None},
    }  # fmt: skip


def _attempt_intent(line: dict[str, Any]) -> dict[str, Any]:
    """An invoice attempt's PaymentIntent: the declined one in its 402, else a succeeded one rebuilt."""
    if line["status"] != 200:  # noqa: PLR2004 - HTTP OK
        declined: dict[str, Any] = line["response"]["error"]["payment_intent"]
        return declined
    paid = Intent(line["amount"], line["currency"], line["customer"], None, line["case_id"], line["attempt"])
    ids = (derived_id("pi", line["key"]), derived_id("ch", line["key"]))
    return payment_intent(paid, *ids, "ok", {}) | {"created": seconds(line["time"])}
