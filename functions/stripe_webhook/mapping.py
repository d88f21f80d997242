"""Stripe v1 events → Bindery's payment events (pure): one event, or ignored with the reason why.

What is taken (`data.object` as Stripe rendered it at `STRIPE_VERSION`, 2026-08-26.dahlia):

- `invoice.payment_failed`, `payment_intent.payment_failed` → `payment.failed` version 2;
- `invoice.paid`, `payment_intent.succeeded` → `payment.succeeded`;
- `payment_method.attached`, `payment_method.automatically_updated`, `setup_intent.succeeded`, and a
  `customer.updated` changing `invoice_settings.default_payment_method` → `payment_method.updated`
  version 2, naming the method.

Identities, so that one failed payment is one case however Stripe reports it:

- `event_id` is Stripe's `evt_…` id: a redelivery carries the same one, and the payment engine
  dedupes on it, so the intake may enqueue a redelivered event again.
- `payment_id` (the case) is the invoice id (`in_…`) for an invoice's payment, else the
  PaymentIntent id (`pi_…`). At this version a PaymentIntent does not name its invoice (the
  `invoice` field went in 2025-03-31.basil; the link is an InvoicePayment, not in the event), and an
  invoice's failure also sends `payment_intent.payment_failed`. So invoices are taken from
  `invoice.*` only, and a PaymentIntent is taken only when its `metadata[bindery_subscription]`
  names the subscription it pays (a payment billed outside Stripe Billing, marked by whoever creates
  it); any other is ignored. A PaymentIntent with `metadata[case_id]` is the engine's own retry
  charge, whose outcome the engine records itself: ignored (a success would look like a second
  payment of the case).
- `subscription_id` is the invoice's `parent.subscription_details.subscription`: an invoice of no
  subscription is ignored (Bindery dunns subscriptions).

The decline is the PaymentIntent's `last_payment_error` (`code`, `decline_code`, `advice_code`). An
invoice carries no payment error at this version (no `charge`, no `payment_intent`; `payments` lists
InvoicePayments, which hold none), so an invoice's failure, and an error without a `code`, carry
`generic_decline`, Stripe's code for a decline of unknown reason: the decline table treats it as
hard, so the case is not retried blind but waits for a new payment method.

The email is the invoice's `customer_email` or the intent's `receipt_email`; without one (or with
one that is not an address), the event is refused (`UnmappableError`), never guessed. Amounts are
Stripe's minor units; the currency is upper-cased, as Bindery stores it. `invoice.payment_failed`
carries `amount_remaining` (what paying the invoice collects), `invoice.paid` with `amount_paid` 0
collected nothing and is ignored.

Smart Retries: an `invoice.payment_failed` whose invoice has `next_payment_attempt` set will be
retried by Stripe itself, so no case is opened (`SMART_RETRIES`). The operator docs must say: turn
Smart Retries off for the invoices Bindery dunns (Billing → Revenue recovery → Retries), or leave
the retries to Stripe; a failure reaches Bindery once Stripe has no attempt left. Invoices the
customer pays by hand (`collection_method` `send_invoice`) are ignored too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from functions.common import money
from functions.stripe_webhook.events import Ignored, PaymentEvent, StripeEvent, UnmappableError, id_of

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SMART_RETRIES = "Stripe retries this invoice itself (Smart Retries)"
OWN_CHARGE = "the payment engine's own retry charge (metadata[case_id]): it records the outcome itself"
GENERIC_DECLINE = "generic_decline"
SUBSCRIPTION_KEY = "bindery_subscription"  # PaymentIntent metadata naming the subscription it pays

__all__ = ["Ignored", "PaymentEvent", "UnmappableError", "map_event"]


def map_event(event: Mapping[str, Any]) -> PaymentEvent | Ignored:
    """The Bindery event for a verified Stripe `event`, `Ignored`, or `UnmappableError`."""
    handler = _HANDLERS.get(event["type"])
    if handler is None:
        return Ignored(f"{event['type']} is not an event Bindery takes")
    data = event["data"]
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise UnmappableError(f"{event['type']} {event['id']}: no data.object")
    try:
        return handler(StripeEvent(event["id"], event["type"], event["created"], obj, data))
    except (KeyError, TypeError, ValueError) as error:  # a field missing or of another shape
        raise UnmappableError(f"{event['type']} {event['id']}: {type(error).__name__}: {error}") from error


def _failed(
    e: StripeEvent,
    *,
    payment: str,
    subscription: object,
    email: str,
    amount: int,
    decline: dict[str, str],
    payment_method: str | None,
    invoice: str | None = None,
) -> PaymentEvent:
    currency = str(e.obj["currency"]).upper()
    try:
        money.check_minor(amount, currency)
    except ValueError as error:
        raise UnmappableError(f"{e.type} {e.id}: {error}") from error
    event = {
        "type": "payment.failed",
        "version": 2,
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
    }
    return PaymentEvent({key: value for key, value in event.items() if value is not None})


def _invoice_failed(e: StripeEvent) -> PaymentEvent | Ignored:
    if e.obj.get("collection_method") == "send_invoice":
        return Ignored("the customer pays this invoice by hand (collection_method send_invoice)")
    if e.obj.get("next_payment_attempt") is not None:
        return Ignored(SMART_RETRIES)
    parent = e.obj.get("parent") or {}
    subscription = (parent.get("subscription_details") or {}).get("subscription")
    if id_of(subscription) is None:
        return Ignored(
            "an invoice of no subscription (parent.subscription_details): Bindery dunns subscriptions"
        )
    if (amount := int(e.obj["amount_remaining"])) <= 0:
        return Ignored("nothing is left to collect (amount_remaining 0)")
    invoice = e.need("invoice id", e.obj.get("id"))
    method = id_of(e.obj.get("default_payment_method"))
    decline = {"code": GENERIC_DECLINE}  # an invoice carries no payment error at this version
    email = e.email("customer_email")
    return _failed(
        e, payment=invoice, subscription=subscription, email=email, amount=amount, decline=decline,
        payment_method=method, invoice=invoice,
    )  # fmt: skip


def _standalone(e: StripeEvent) -> str | Ignored:
    """The subscription a PaymentIntent pays, or why it is not one Bindery takes."""
    metadata = e.obj.get("metadata") or {}
    if metadata.get("case_id"):
        return Ignored(OWN_CHARGE)
    subscription = metadata.get(SUBSCRIPTION_KEY)
    if not isinstance(subscription, str) or not subscription:
        return Ignored(
            f"a PaymentIntent without metadata[{SUBSCRIPTION_KEY}]: an invoice's payment (taken from"
            " invoice.* events) or one Bindery does not dun"
        )
    return subscription


def _intent_failed(e: StripeEvent) -> PaymentEvent | Ignored:
    subscription = _standalone(e)
    if isinstance(subscription, Ignored):
        return subscription
    error = e.obj.get("last_payment_error") or {}
    decline = {
        "code": error.get("code") or GENERIC_DECLINE,
        "decline_code": error.get("decline_code"),
        "advice_code": error.get("advice_code"),
    }
    method = id_of(e.obj.get("payment_method")) or id_of(error.get("payment_method"))
    return _failed(
        e, payment=e.need("PaymentIntent id", e.obj.get("id")), subscription=subscription,
        email=e.email("receipt_email"), amount=int(e.obj["amount"]),
        decline={key: value for key, value in decline.items() if value}, payment_method=method,
    )  # fmt: skip


def _succeeded(e: StripeEvent, payment: str, at: str) -> PaymentEvent:
    return PaymentEvent(
        {
            "type": "payment.succeeded",
            "version": 1,
            "event_id": e.id,
            "payment_id": payment,
            "succeeded_at": at,
        }
    )


def _invoice_paid(e: StripeEvent) -> PaymentEvent | Ignored:
    if int(e.obj.get("amount_paid") or 0) <= 0:
        return Ignored("the invoice collected nothing (amount_paid 0): no payment of it can have failed")
    paid_at = (e.obj.get("status_transitions") or {}).get("paid_at")
    return _succeeded(e, e.need("invoice id", e.obj.get("id")), e.at(paid_at))


def _intent_succeeded(e: StripeEvent) -> PaymentEvent | Ignored:
    subscription = _standalone(e)
    if isinstance(subscription, Ignored):
        return subscription
    return _succeeded(e, e.need("PaymentIntent id", e.obj.get("id")), e.at())


def _method_updated(e: StripeEvent, customer: object, method: object) -> PaymentEvent | Ignored:
    if id_of(customer) is None:
        return Ignored("the payment method is saved to no customer")
    if id_of(method) is None:
        return Ignored("no payment method")
    event = {
        "type": "payment_method.updated",
        "version": 2,
        "event_id": e.id,
        "customer_id": e.need("customer", customer),
        "updated_at": e.at(),
        "payment_method": e.need("payment method", method),
    }
    return PaymentEvent(event)


def _customer_updated(e: StripeEvent) -> PaymentEvent | Ignored:
    before = (e.data.get("previous_attributes") or {}).get("invoice_settings")
    if not isinstance(before, dict) or "default_payment_method" not in before:
        return Ignored("the customer's invoice_settings.default_payment_method did not change")
    method = (e.obj.get("invoice_settings") or {}).get("default_payment_method")
    if id_of(method) is None:
        return Ignored("the customer's default payment method was removed")
    return _method_updated(e, e.obj.get("id"), method)


_HANDLERS: dict[str, Callable[[StripeEvent], PaymentEvent | Ignored]] = {
    "invoice.payment_failed": _invoice_failed,
    "payment_intent.payment_failed": _intent_failed,
    "invoice.paid": _invoice_paid,
    "payment_intent.succeeded": _intent_succeeded,
    "payment_method.attached": lambda e: _method_updated(e, e.obj.get("customer"), e.obj.get("id")),
    "payment_method.automatically_updated": lambda e: _method_updated(
        e, e.obj.get("customer"), e.obj.get("id")
    ),
    "setup_intent.succeeded": lambda e: _method_updated(
        e, e.obj.get("customer"), e.obj.get("payment_method")
    ),
    "customer.updated": _customer_updated,
}
