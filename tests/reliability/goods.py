"""Good messages for the hostile-message run: one factory per input queue, with the fields it requires."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common import names
from tooling import upload

TAG = uuid.uuid4().hex[:6]
NOW = datetime.now(UTC)


def payment(i: int) -> dict[str, Any]:
    """A PaymentFailed event the sandbox will charge successfully."""
    customer = f"cus_ok_rel{TAG}{i}"
    return {
        "type": "payment.failed", "version": 1, "event_id": f"evt_{customer}",
        "payment_id": f"pay_{customer}", "customer_id": customer, "subscription_id": f"sub_{customer}",
        "email": f"{customer}@example.com",
        "amount": 1500, "currency": "EUR", "failed_at": (NOW - timedelta(days=1, minutes=5)).isoformat(),
        "decline": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }  # fmt: skip


def email(i: int) -> dict[str, Any]:
    """An email request for a fresh address."""
    return {
        "version": 1, "request_id": f"rel-{TAG}-{i}", "template": "recovered",
        "to": f"rel-{TAG}-{i}@example.com", "data": {"amount": 700, "currency": "USD"},
    }  # fmt: skip


def batch(i: int) -> dict[str, Any]:
    """A verified SendGrid batch of one delivered event."""
    event = {"email": "x@example.com", "timestamp": int(NOW.timestamp()), "event": "delivered",
             "sg_event_id": f"ev-{TAG}-{i}", "request_id": f"rel-ev-{TAG}-{i}"}  # fmt: skip
    return {
        "version": 1,
        "batch_id": f"b{TAG}{i}",
        "received_at": NOW.isoformat(),
        "body": json.dumps([event]),
    }


def beat(i: int) -> dict[str, Any]:
    """A heartbeat with its own second."""
    stamp = NOW.replace(year=2001) + timedelta(seconds=i)
    return {"version": 1, "id": f"{stamp:%Y%m%dT%H%M%SZ}", "fired_at": stamp.isoformat()}


def receipt(i: int) -> dict[str, Any]:
    """A dunning receipt request (version 1)."""
    return {
        "version": 1, "request_id": f"rcpt-{TAG}-{i}:receipt", "payment_id": f"rcpt-{TAG}-{i}",
        "customer_id": f"cus_{i}", "email": f"rcpt-{TAG}-{i}@example.com", "amount": 990 + i,
        "currency": "EUR", "paid_at": NOW.isoformat(), "locale": "de",
    }  # fmt: skip


def order_blob(i: int) -> str:
    """The blob name of good order `i`: odd but literal characters (space, '#', non-ASCII, '%', '+')."""
    return f"orders/rel {TAG} #{i} Ünï +%.json"


def order(i: int) -> dict[str, Any]:
    """Good order document `i`, uploaded before its event is enqueued."""
    return {
        "order_id": f"ord-{TAG}-{i}", "invoice_number": f"INV-{TAG}-{i}", "issued_at": NOW.isoformat(),
        "customer": {"name": "张伟 / محمد / שלום"}, "email": f"inv-{TAG}-{i}@example.com", "currency": "USD",
        "lines": [{"description": "Plan", "unit_price": "10.00"}],
    }  # fmt: skip


def order_event(i: int) -> dict[str, Any]:
    """The BlobCreated event of order `i`, in the Event Grid schema (sent as plain JSON)."""
    return upload.blob_created(names.DOCUMENTS_CONTAINER, order_blob(i), length=len(json.dumps(order(i))))


# queue -> (good message factory, the fields its model requires)
# Storage events carry no Bindery version: their hostile variants skip the unknown-version kind.
UNVERSIONED = frozenset({names.BLOB_EVENTS})
QUEUES: dict[str, tuple[Callable[[int], dict[str, Any]], list[str]]] = {
    names.PAYMENT_EVENTS: (payment, ["type", "event_id", "payment_id", "customer_id", "email", "amount",
                                      "currency", "failed_at", "decline"]),
    names.EMAIL_REQUESTS: (email, ["request_id", "template", "to"]),
    names.EMAIL_EVENTS: (batch, ["batch_id", "received_at", "body"]),
    names.DEMO_EVENTS: (beat, ["id", "fired_at"]),
    names.RECEIPT_REQUESTS: (receipt, ["request_id", "payment_id", "customer_id", "email", "amount",
                                       "currency", "paid_at"]),
    names.BLOB_EVENTS: (order_event, ["id", "subject", "eventType", "eventTime", "data"]),
}  # fmt: skip
