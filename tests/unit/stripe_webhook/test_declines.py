"""The invoice decline lookup: the one GET it sends, and what each of Stripe's answers makes of it."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

import pytest

from bindings.errors import TransientError
from functions.common.stripe import STRIPE_VERSION, StripeAnswer
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.events import GENERIC_DECLINE, UnmappableError
from tests.unit.stripe_webhook.invoice_payments import SOFT, Recording, invoice_payment, listed
from tests.unit.stripe_webhook.stripe_events import INVOICE, card_error, payment_intent


def test_the_lookup_lists_the_invoices_newest_payment_with_its_intent_expanded() -> None:
    """One GET /v1/invoice_payments for the invoice, newest only, intent expanded, pinned version, no key."""
    transport = Recording()
    assert InvoiceDeclines(transport)(INVOICE) == SOFT
    [request] = transport.sent
    url = urlsplit(request.path)
    assert (request.method, url.path, request.body) == ("GET", "/v1/invoice_payments", b"")
    assert parse_qsl(url.query) == [
        ("invoice", INVOICE), ("limit", "1"), ("expand[0]", "data.payment.payment_intent")
    ]  # fmt: skip
    assert request.headers == (("Stripe-Version", STRIPE_VERSION),)
    assert request.binding_metadata()["path"] == request.path


def test_the_newest_payments_error_is_the_decline_even_without_a_code() -> None:
    """The first listed payment decides; an error without a code is generic_decline with its other codes."""
    intent = payment_intent(last_payment_error=card_error(code=None, advice_code=None))
    older = invoice_payment(payment_intent(last_payment_error=card_error(code="expired_card")))
    found = InvoiceDeclines(Recording(answer=listed(invoice_payment(intent), older)))(INVOICE)
    assert found == {"code": GENERIC_DECLINE, "decline_code": "insufficient_funds"}


@pytest.mark.parametrize(
    ("payments", "why"),
    [
        pytest.param((), "lists no payment", id="no-payments"),
        pytest.param(
            (invoice_payment(payment_intent(last_payment_error=None, status="succeeded")),),
            "holds no payment error",
            id="no-error",
        ),
        pytest.param((invoice_payment("pi_3QZrA8K2vT4xLpNc0mVq2R5s"),), "unexpanded", id="not-expanded"),
        pytest.param(
            (invoice_payment(payment={"type": "payment_record", "payment_record": "pr_1"}),),
            "no PaymentIntent",
            id="a-payment-record",
        ),
    ],
)
def test_a_payment_without_an_error_is_a_generic_decline_saying_why(
    payments: tuple[dict[str, object], ...], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No payments, no error, or no PaymentIntent to read: generic_decline, with the reason logged."""
    with caplog.at_level(logging.WARNING, "functions.stripe_webhook.declines"):
        assert InvoiceDeclines(Recording(answer=listed(*payments)))(INVOICE) == {"code": GENERIC_DECLINE}
    assert why in caplog.text
    assert INVOICE in caplog.text


@pytest.mark.parametrize("status", [429, 500, 503, 302])
def test_an_answer_that_is_not_stripes_word_is_transient(status: int) -> None:
    """429, 5xx and a redirect: TransientError (the intake answers 503), never a guessed decline."""
    with pytest.raises(TransientError, match=str(status)):
        InvoiceDeclines(Recording(answer=StripeAnswer(status, b"")))(INVOICE)


def test_no_answer_at_all_is_transient() -> None:
    """The transport's TransientError passes through."""
    with pytest.raises(TransientError, match="no answer"):
        InvoiceDeclines(Recording(error=TransientError("no answer")))(INVOICE)


def test_a_refusal_is_unmappable_with_the_key_masked() -> None:
    """A 4xx refuses the event with Stripe's message, any API key in it masked."""
    body = b'{"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: rk_live_abcdefgh12345678"}}'  # noqa: E501
    with pytest.raises(UnmappableError, match="401") as refused:
        InvoiceDeclines(Recording(answer=StripeAnswer(401, body)))(INVOICE)
    assert "abcdefgh" not in str(refused.value)
    assert "rk_live_…5678" in str(refused.value)


@pytest.mark.parametrize("body", [b"<html>", b'{"object": "invoice_payment"}'])
def test_a_2xx_that_is_not_a_list_is_unmappable(body: bytes) -> None:
    """A 200 Bindery cannot read refuses the event: the decline is not guessed."""
    with pytest.raises(UnmappableError, match="not a list"):
        InvoiceDeclines(Recording(answer=StripeAnswer(200, body)))(INVOICE)


def test_an_invoice_id_stripe_would_not_take_is_never_sent() -> None:
    """An id that is not Stripe's (a space in it) is refused before any request."""
    transport = Recording()
    with pytest.raises(UnmappableError, match="not a Stripe id"):
        InvoiceDeclines(transport)("in_1 2")
    assert transport.sent == []
