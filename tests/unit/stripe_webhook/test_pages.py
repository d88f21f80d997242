"""An invoice's hosted page (`hosted_invoice_url`) on the intake's payment.failed, when it is safe."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from functions.payment_retry.model import PaymentFailed
from functions.stripe_webhook.mapping import PaymentEvent, map_event
from functions.stripe_webhook.settings import StripeWebhookSettings
from tests.unit.stripe_webhook.invoice_payments import looked_up
from tests.unit.stripe_webhook.stripe_events import INVOICE, event, invoice, payment_intent

PAGE = "https://invoice.stripe.com/i/acct_1/test"  # the fixture invoice's hosted_invoice_url
SANDBOX_PAGE = "http://127.0.0.1:8123/i/in_1"


def failed(obj: dict[str, Any], *, loopback_http: bool = False) -> PaymentFailed:
    """The intake's payment.failed for an invoice.payment_failed of `obj`, read as payment-retry reads it."""
    result = map_event(event("invoice.payment_failed", obj), looked_up, loopback_http=loopback_http)
    assert isinstance(result, PaymentEvent), result
    return PaymentFailed.model_validate(result.root)


def test_an_invoice_failure_carries_its_hosted_page() -> None:
    """hosted_invoice_url becomes payment_page_url, in a version 3 event next to the invoice."""
    found = failed(invoice())
    assert (found.version, found.invoice, found.payment_page_url) == (3, INVOICE, PAGE)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("http://invoice.example/i/1", id="http-public-host"),
        pytest.param(SANDBOX_PAGE, id="loopback-http-outside-the-local-stack"),
        pytest.param("https://invoice.stripe.com@evil.example/i/1", id="userinfo"),
        pytest.param("https://invoice.stripe.com/i/\n1", id="line-break"),
        pytest.param("https://invoice.stripe.com/i/" + "a" * 2_000, id="too-long"),
        pytest.param(42, id="not-a-string"),
    ],
)
def test_an_unsafe_hosted_page_is_refused_with_the_reason_and_the_failure_still_taken(
    url: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A page no email may carry is left out, with a warning saying why; the case opens all the same."""
    with caplog.at_level(logging.WARNING, logger="functions.stripe_webhook.pages"):
        found = failed(invoice(hosted_invoice_url=url))
    assert (found.payment_page_url, found.amount) == (None, 2900)
    [record] = caplog.records
    assert "hosted_invoice_url refused, not carried" in record.getMessage()
    assert "evt_1QZrA9K2vT4xLpNcW7e1Xk3b" in record.getMessage()


def test_loopback_http_is_carried_only_in_the_local_stack() -> None:
    """The processor sandbox's http page on loopback passes with STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP=1."""
    assert (
        failed(invoice(hosted_invoice_url=SANDBOX_PAGE), loopback_http=True).payment_page_url == SANDBOX_PAGE
    )
    base = {"STRIPE_WEBHOOK_SECRET": "whsec_test"}
    assert not StripeWebhookSettings.from_env(base).loopback_http
    assert StripeWebhookSettings.from_env({**base, "STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP": "1"}).loopback_http


def test_an_invoice_without_a_hosted_page_and_a_payment_intent_carry_none() -> None:
    """No hosted_invoice_url, or a PaymentIntent's failure (no invoice): no payment_page_url."""
    assert failed(invoice(hosted_invoice_url=None)).payment_page_url is None
    result = map_event(event("payment_intent.payment_failed", payment_intent()), looked_up)
    assert isinstance(result, PaymentEvent)
    assert "payment_page_url" not in result.root
    assert PaymentFailed.model_validate(result.root).version == 3
