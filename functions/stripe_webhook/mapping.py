"""Stripe v1 events → Bindery's payment events (pure): one event, or ignored with the reason why.

What is taken (`data.object` as Stripe rendered it at `STRIPE_VERSION`, 2026-08-26.dahlia):

- `invoice.payment_failed`, `payment_intent.payment_failed` → `payment.failed` version 3 (an
  invoice's with its hosted page, `hosted_invoice_url`, when it is a safe link: `pages`);
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

The decline is the PaymentIntent's `last_payment_error` (`code`, `decline_code`, `advice_code`;
`generic_decline`, Stripe's code for a decline of unknown reason, without a `code`). An invoice carries
no payment error at this version (no `charge`, no `payment_intent`; its payments are InvoicePayments),
so `map_event` asks its `InvoiceDecline` for the invoice's: the intake's looks it up at Stripe
(`declines`), only for an invoice the mapping takes and with an email; its refusals
(`UnmappableError`) and failures (`TransientError`) propagate to the app.

The email is the invoice's `customer_email` or the intent's `receipt_email`; without one (or with
one that is not an address), the event is refused (`UnmappableError`), never guessed. Amounts are
Stripe's minor units; the currency is upper-cased, as Bindery stores it. `invoice.payment_failed`
carries `amount_remaining` (what paying the invoice collects), `invoice.paid` with `amount_paid` 0
collected nothing and is ignored. A `payment.failed` carries the customer's `timezone` and `locale`
when the object has usable `metadata[bindery_timezone]`/`[bindery_locale]` (`preferences`).

Smart Retries: an `invoice.payment_failed` whose invoice has `next_payment_attempt` set will be
retried by Stripe itself, so no case is opened (`SMART_RETRIES`). The operator docs must say: turn
Smart Retries off for the invoices Bindery dunns (Billing → Revenue recovery → Retries), or leave
the retries to Stripe; a failure reaches Bindery once Stripe has no attempt left. Invoices the
customer pays by hand (`collection_method` `send_invoice`) are ignored too.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from functions.stripe_webhook.events import (
    GENERIC_DECLINE,
    Ignored,
    InvoiceDecline,
    PaymentEvent,
    StripeEvent,
    UnmappableError,
    decline_of,
    failed_event,
    id_of,
    succeeded_event,
)
from functions.stripe_webhook.pages import payment_page

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

SMART_RETRIES = "Stripe retries this invoice itself (Smart Retries)"
OWN_CHARGE = "the payment engine's own retry charge (metadata[case_id]): it records the outcome itself"
SUBSCRIPTION_KEY = "bindery_subscription"  # PaymentIntent metadata naming the subscription it pays

__all__ = [
    "GENERIC_DECLINE", "TYPES", "Ignored", "InvoiceDecline", "PaymentEvent", "UnmappableError", "map_event",
]  # fmt: skip


def map_event(
    event: Mapping[str, Any], invoice_decline: InvoiceDecline, *, loopback_http: bool = False
) -> PaymentEvent | Ignored:
    """The Bindery event for a verified Stripe `event`, `Ignored`, or `UnmappableError`.

    `invoice_decline` gives an invoice's decline (only an `invoice.payment_failed` to be taken asks);
    `loopback_http` lets an invoice's hosted page be http to loopback (the local stack's sandbox).
    """
    handler = _HANDLERS.get(event["type"])
    if event["type"] == "invoice.payment_failed":
        handler = partial(_invoice_failed, invoice_decline=invoice_decline, loopback_http=loopback_http)
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


def _invoice_failed(
    e: StripeEvent, invoice_decline: InvoiceDecline, *, loopback_http: bool
) -> PaymentEvent | Ignored:
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
    email = e.email("customer_email")
    decline = invoice_decline(invoice)  # asked late: an ignored event, or one without an email, costs no call
    page = payment_page(e.obj, f"{e.type} {e.id}", loopback_http=loopback_http)
    return failed_event(
        e, payment=invoice, subscription=subscription, email=email, amount=amount, decline=decline,
        payment_method=method, invoice=invoice, payment_page_url=page,
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
    method = id_of(e.obj.get("payment_method")) or id_of(error.get("payment_method"))
    return failed_event(
        e, payment=e.need("PaymentIntent id", e.obj.get("id")), subscription=subscription,
        email=e.email("receipt_email"), amount=int(e.obj["amount"]),
        decline=decline_of(error), payment_method=method,
    )  # fmt: skip


def _invoice_paid(e: StripeEvent) -> PaymentEvent | Ignored:
    if int(e.obj.get("amount_paid") or 0) <= 0:
        return Ignored("the invoice collected nothing (amount_paid 0): no payment of it can have failed")
    paid_at = (e.obj.get("status_transitions") or {}).get("paid_at")
    return succeeded_event(e, e.need("invoice id", e.obj.get("id")), e.at(paid_at))


def _intent_succeeded(e: StripeEvent) -> PaymentEvent | Ignored:
    subscription = _standalone(e)
    if isinstance(subscription, Ignored):
        return subscription
    return succeeded_event(e, e.need("PaymentIntent id", e.obj.get("id")), e.at())


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
TYPES: tuple[str, ...] = ("invoice.payment_failed", *_HANDLERS)
"""The Stripe event types the mapping takes (any other is `Ignored`): what a backfill lists."""
