"""The mapping of Stripe events to Bindery's payment events, checked against payment_retry's own models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from functions.payment_retry.model import PaymentFailed, PaymentMethodUpdated, PaymentSucceeded
from functions.stripe_webhook.mapping import (
    GENERIC_DECLINE,
    OWN_CHARGE,
    SMART_RETRIES,
    Ignored,
    PaymentEvent,
    UnmappableError,
    map_event,
)
from tests.unit.stripe_webhook.invoice_payments import SOFT, looked_up
from tests.unit.stripe_webhook.stripe_events import (
    CREATED,
    CUSTOMER,
    EMAIL,
    INTENT,
    INVOICE,
    METHOD,
    NEW_METHOD,
    SUBSCRIPTION,
    card_error,
    customer,
    event,
    invoice,
    paid_invoice,
    payment_intent,
    payment_method,
    setup_intent,
)

AT = datetime.fromtimestamp(CREATED, UTC)


def mapped(stripe_event: dict[str, Any]) -> dict[str, Any]:
    """The payment event's JSON; fails the test when the event is ignored."""
    result = map_event(stripe_event, looked_up)
    assert isinstance(result, PaymentEvent), result
    return result.root


def ignored(stripe_event: dict[str, Any]) -> str:
    """Why the event is ignored; fails the test when it is mapped."""
    result = map_event(stripe_event, looked_up)
    assert isinstance(result, Ignored), result
    return result.reason


def test_an_invoice_failure_opens_a_case_named_by_the_invoice() -> None:
    """invoice.payment_failed: a version 3 payment.failed for the invoice, what is left to pay, in EUR."""
    found = PaymentFailed.model_validate(mapped(event("invoice.payment_failed", invoice())))
    assert (found.version, found.event_id) == (3, "evt_1QZrA9K2vT4xLpNcW7e1Xk3b")
    assert (found.payment_id, found.invoice, found.payment_method) == (INVOICE, INVOICE, None)
    assert (found.customer_id, found.subscription_id, found.email) == (CUSTOMER, SUBSCRIPTION, EMAIL)
    assert (found.amount, found.currency, found.failed_at) == (2900, "EUR", AT)
    assert found.decline.model_dump() == SOFT


def test_an_invoice_failure_asks_its_decline_last_and_passes_on_refusals() -> None:
    """The lookup is asked for the invoice once every check passed; its refusal refuses the event."""
    asked: list[str] = []

    def refusing(invoice_id: str) -> dict[str, str]:
        asked.append(invoice_id)
        raise UnmappableError("Stripe answered 404")

    ignored_event = event("invoice.payment_failed", invoice(collection_method="send_invoice"))
    assert isinstance(map_event(ignored_event, refusing), Ignored)
    with pytest.raises(UnmappableError, match="no customer_email"):
        map_event(event("invoice.payment_failed", invoice(customer_email=None)), refusing)
    assert asked == []
    with pytest.raises(UnmappableError, match="404"):
        map_event(event("invoice.payment_failed", invoice()), refusing)
    assert asked == [INVOICE]


def test_an_invoice_failure_names_the_invoices_payment_method_and_reads_expanded_ids() -> None:
    """The invoice's default payment method is passed on; an expanded customer or subscription: its id."""
    parent = {"type": "subscription_details", "subscription_details": {"subscription": {"id": SUBSCRIPTION}}}
    body = invoice(
        default_payment_method=METHOD,
        customer={"id": CUSTOMER, "object": "customer"},
        parent=parent,
        amount_remaining=1400,
    )
    found = PaymentFailed.model_validate(mapped(event("invoice.payment_failed", body)))
    assert (found.payment_method, found.customer_id, found.subscription_id, found.amount) == (
        METHOD,
        CUSTOMER,
        SUBSCRIPTION,
        1400,
    )


def test_an_invoice_stripe_will_retry_opens_no_case() -> None:
    """Smart Retries: a failure with next_payment_attempt set is Stripe's to retry, so no case is opened."""
    retried = invoice(next_payment_attempt=CREATED + 3 * 86400, attempt_count=2)
    assert ignored(event("invoice.payment_failed", retried)) == SMART_RETRIES


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        pytest.param({"collection_method": "send_invoice"}, "by hand", id="send-invoice"),
        pytest.param({"parent": None}, "no subscription", id="no-parent"),
        pytest.param(
            {
                "parent": {
                    "type": "quote_details",
                    "quote_details": {"quote": "qt_1"},
                    "subscription_details": None,
                }
            },
            "no subscription",
            id="a-quote",
        ),
        pytest.param({"amount_remaining": 0}, "nothing is left", id="nothing-left"),
    ],
)
def test_an_invoice_failure_bindery_does_not_dun_is_ignored(changes: dict[str, Any], why: str) -> None:
    """A hand-paid invoice, an invoice of no subscription or one with nothing left to pay opens no case."""
    assert why in ignored(event("invoice.payment_failed", invoice(**changes)))


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        pytest.param({"customer_email": None}, "no customer_email", id="no-email"),
        pytest.param({"customer_email": "mara at example.com"}, "not an email address", id="not-an-address"),
        pytest.param({"customer": None}, "no customer", id="no-customer"),
        pytest.param({"currency": "xts"}, "XTS", id="a-currency-of-no-payments"),
        pytest.param({"currency": "jpy", "amount_remaining": 10**13}, "10000000000000", id="too-much"),
        pytest.param({"amount_remaining": "lots"}, "ValueError", id="amount-not-a-number"),
    ],
)
def test_an_invoice_failure_missing_what_a_case_needs_is_refused(changes: dict[str, Any], why: str) -> None:
    """No email (never guessed), no customer, or an amount no case can take: refused with the reason."""
    with pytest.raises(UnmappableError, match=why):
        map_event(event("invoice.payment_failed", invoice(**changes)), looked_up)


def test_an_intent_failure_carries_the_issuers_decline_and_the_card() -> None:
    """payment_intent.payment_failed: the codes of its last_payment_error, and the card that failed."""
    found = PaymentFailed.model_validate(mapped(event("payment_intent.payment_failed", payment_intent())))
    assert (found.payment_id, found.invoice, found.payment_method) == (INTENT, None, METHOD)
    assert (found.amount, found.currency, found.email, found.subscription_id) == (
        1250,
        "EUR",
        EMAIL,
        SUBSCRIPTION,
    )
    assert found.decline.model_dump() == {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "advice_code": "try_again_later",
    }


def test_an_intent_failure_without_an_error_code_falls_back_to_generic_decline() -> None:
    """No last_payment_error (or one without a code): the decline is generic_decline, never a guessed code."""
    body = payment_intent(last_payment_error=None, payment_method=METHOD)
    found = PaymentFailed.model_validate(mapped(event("payment_intent.payment_failed", body)))
    assert (found.decline.code, found.payment_method) == (GENERIC_DECLINE, METHOD)
    error = card_error(code=None, decline_code="do_not_honor", advice_code=None)
    found = PaymentFailed.model_validate(
        mapped(event("payment_intent.payment_failed", payment_intent(last_payment_error=error)))
    )
    assert (found.decline.code, found.decline.decline_code) == (GENERIC_DECLINE, "do_not_honor")


def test_an_intent_failure_without_a_receipt_email_is_refused() -> None:
    """A PaymentIntent Bindery would dun, but no address to write to: refused, not guessed from the card."""
    with pytest.raises(UnmappableError, match="receipt_email"):
        map_event(event("payment_intent.payment_failed", payment_intent(receipt_email=None)), looked_up)


def test_one_invoice_failure_is_one_case_however_stripe_reports_it() -> None:
    """An invoice's failure sends invoice.* and payment_intent.payment_failed: one payment.failed results."""
    invoice_intent = payment_intent(metadata={}, amount=2900, description="Subscription update")
    reports = [
        map_event(
            event("payment_intent.payment_failed", invoice_intent, event_id="evt_3QZrA8K2vT4xLpNc1"),
            looked_up,
        ),
        map_event(event("invoice.payment_failed", invoice(), event_id="evt_1QZrA9K2vT4xLpNc2"), looked_up),
    ]
    failures = [PaymentFailed.model_validate(r.root) for r in reports if isinstance(r, PaymentEvent)]
    assert [f.payment_id for f in failures] == [INVOICE]
    assert "invoice.* events" in next(r.reason for r in reports if isinstance(r, Ignored))


def test_the_engines_own_charges_are_ignored() -> None:
    """A PaymentIntent with metadata[case_id] is the engine's retry: its failure or success is not mapped."""
    ours = payment_intent(metadata={"case_id": INVOICE, "attempt": "2", "bindery_subscription": SUBSCRIPTION})
    assert ignored(event("payment_intent.payment_failed", ours)) == OWN_CHARGE
    assert ignored(event("payment_intent.succeeded", ours | {"status": "succeeded"})) == OWN_CHARGE


def test_a_paid_invoice_settles_its_case() -> None:
    """invoice.paid: payment.succeeded for the invoice, at the time Stripe says it was paid."""
    found = PaymentSucceeded.model_validate(mapped(event("invoice.paid", paid_invoice())))
    assert (found.payment_id, found.succeeded_at) == (INVOICE, datetime.fromtimestamp(CREATED + 3600, UTC))


def test_an_invoice_that_collected_nothing_is_ignored() -> None:
    """A paid invoice of nothing (a trial, a full credit) had no payment that could fail."""
    assert "collected nothing" in ignored(event("invoice.paid", paid_invoice(amount_paid=0, amount_due=0)))


def test_a_succeeded_intent_settles_its_case() -> None:
    """payment_intent.succeeded of a PaymentIntent Bindery dunns: payment.succeeded at the event's time."""
    done = payment_intent(status="succeeded", last_payment_error=None, amount_received=1250)
    found = PaymentSucceeded.model_validate(mapped(event("payment_intent.succeeded", done)))
    assert (found.payment_id, found.succeeded_at) == (INTENT, AT)


def test_an_invoices_succeeded_intent_is_ignored() -> None:
    """An invoice's PaymentIntent (no metadata[bindery_subscription]) is settled by invoice.paid instead."""
    assert "invoice.* events" in ignored(event("payment_intent.succeeded", payment_intent(metadata={})))


@pytest.mark.parametrize(
    ("event_type", "obj", "method"),
    [
        pytest.param("payment_method.attached", payment_method(id=NEW_METHOD), NEW_METHOD, id="attached"),
        pytest.param("payment_method.automatically_updated", payment_method(), METHOD, id="card-updater"),
        pytest.param("setup_intent.succeeded", setup_intent(), NEW_METHOD, id="setup-intent"),
        pytest.param(
            "setup_intent.succeeded",
            setup_intent(payment_method=payment_method(id=NEW_METHOD)),
            NEW_METHOD,
            id="setup-intent-expanded",
        ),
    ],
)
def test_a_new_payment_method_wakes_the_customers_cases(
    event_type: str, obj: dict[str, Any], method: str
) -> None:
    """A card attached, updated by the card networks or set up: payment_method.updated version 2 naming it."""
    found = PaymentMethodUpdated.model_validate(mapped(event(event_type, obj)))
    assert (found.version, found.customer_id, found.payment_method, found.updated_at) == (
        2,
        CUSTOMER,
        method,
        AT,
    )


def test_a_new_default_payment_method_of_the_customer_wakes_its_cases() -> None:
    """customer.updated whose previous_attributes show invoice_settings.default_payment_method changed."""
    previous = {"invoice_settings": {"default_payment_method": METHOD}}
    found = PaymentMethodUpdated.model_validate(
        mapped(event("customer.updated", customer(), previous=previous))
    )
    assert (found.customer_id, found.payment_method) == (CUSTOMER, NEW_METHOD)


@pytest.mark.parametrize(
    ("stripe_event", "why"),
    [
        pytest.param(
            event("customer.updated", customer(), previous={"email": "old@example.com"}),
            "did not change",
            id="customer-other-change",
        ),
        pytest.param(
            event(
                "customer.updated",
                customer(None),
                previous={"invoice_settings": {"default_payment_method": METHOD}},
            ),
            "removed",
            id="default-method-removed",
        ),
        pytest.param(event("customer.updated", customer()), "did not change", id="no-previous-attributes"),
        pytest.param(
            event("setup_intent.succeeded", setup_intent(customer=None)),
            "no customer",
            id="setup-no-customer",
        ),
        pytest.param(
            event("payment_method.attached", payment_method(customer=None)),
            "no customer",
            id="attached-to-no-customer",
        ),
    ],
)
def test_a_payment_method_change_that_names_no_new_method_for_a_customer_is_ignored(
    stripe_event: dict[str, Any], why: str
) -> None:
    """Other customer changes, a removed default, a method saved to nobody: nothing to retry with."""
    assert why in ignored(stripe_event)


@pytest.mark.parametrize(
    "event_type", ["charge.refunded", "invoice.created", "payment_method.detached", "ping"]
)
def test_other_event_types_are_ignored(event_type: str) -> None:
    """An event type Bindery does not take is ignored, saying so."""
    assert (
        ignored(event(event_type, {"id": "x_1", "object": "unknown"}))
        == f"{event_type} is not an event Bindery takes"
    )


def test_a_redelivered_event_maps_to_the_same_payment_event() -> None:
    """Stripe's duplicates: the same evt_ id gives the same event, which the engine dedupes on event_id."""
    first, again = (mapped(event("invoice.payment_failed", invoice())) for _ in range(2))
    assert first == again
    assert first["event_id"] == "evt_1QZrA9K2vT4xLpNcW7e1Xk3b"


def test_an_event_without_its_object_is_refused() -> None:
    """A payment event whose data.object is missing cannot be mapped: refused, not ignored."""
    body = event("invoice.paid", {}) | {"data": {}}
    with pytest.raises(UnmappableError, match=r"no data\.object"):
        map_event(body, looked_up)
