"""The customer's time zone and language in a mapped payment.failed, checked against PaymentFailed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from functions.payment_retry.model import PaymentFailed
from functions.stripe_webhook.mapping import PaymentEvent, map_event
from tests.unit.stripe_webhook.invoice_payments import looked_up
from tests.unit.stripe_webhook.stripe_events import (
    CUSTOMER,
    EMAIL,
    INVOICE,
    SUBSCRIPTION,
    customer,
    event,
    invoice,
    payment_intent,
)
from tooling.sandboxes import processor_stripe as sandbox_objects

LOGGER = "functions.stripe_webhook.preferences"
EVENT_ID = "evt_1QZrA9K2vT4xLpNcW7e1Xk3b"


def failed(
    obj: dict[str, Any], event_type: str = "invoice.payment_failed"
) -> tuple[dict[str, Any], PaymentFailed]:
    """The mapped event's JSON, and the PaymentFailed payment-retry reads from it."""
    result = map_event(event(event_type, obj), looked_up)
    assert isinstance(result, PaymentEvent), result
    return result.root, PaymentFailed.model_validate(result.root)


def subscription_parent(metadata: dict[str, str]) -> dict[str, Any]:
    """An invoice's `parent` whose subscription's metadata snapshot is `metadata`."""
    details = {"metadata": metadata, "subscription": SUBSCRIPTION}
    return {"type": "subscription_details", "quote_details": None, "subscription_details": details}


def test_an_invoices_metadata_sets_the_customers_zone_and_language() -> None:
    """The invoice's metadata[bindery_timezone] and [bindery_locale] become the timezone and locale."""
    metadata = {"bindery_timezone": "Europe/Stockholm", "bindery_locale": "sv"}
    body, found = failed(invoice(metadata=metadata))
    assert (body["timezone"], body["locale"]) == ("Europe/Stockholm", "sv")
    assert (found.timezone, found.locale, found.invoice) == ("Europe/Stockholm", "sv", INVOICE)


def test_a_payment_intents_metadata_sets_the_customers_zone_and_language() -> None:
    """A PaymentIntent billed outside Stripe Billing carries them next to metadata[bindery_subscription]."""
    metadata = {"bindery_subscription": SUBSCRIPTION, "bindery_timezone": "America/Sao_Paulo"}
    _, found = failed(
        payment_intent(metadata=metadata | {"bindery_locale": "pt-BR"}), "payment_intent.payment_failed"
    )
    assert (found.timezone, found.locale) == ("America/Sao_Paulo", "pt-BR")


def test_an_invoice_takes_its_subscriptions_metadata_unless_it_has_its_own() -> None:
    """parent.subscription_details.metadata (the subscription's snapshot) applies; the invoice's own wins."""
    parent = subscription_parent({"bindery_timezone": "Europe/Berlin", "bindery_locale": "de"})
    _, found = failed(invoice(parent=parent))
    assert (found.timezone, found.locale) == ("Europe/Berlin", "de")
    _, found = failed(invoice(parent=parent, metadata={"bindery_locale": "de-CH"}))
    assert (found.timezone, found.locale) == ("Europe/Berlin", "de-CH")


def test_without_preferences_the_event_leaves_them_to_the_defaults() -> None:
    """No metadata, a customer named by id (as webhooks send it): neither field is set; UTC and en apply."""
    body, found = failed(invoice())
    assert "timezone" not in body
    assert "locale" not in body
    assert (found.timezone, found.locale) == ("UTC", "en")


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("America", id="a-directory"),
        pytest.param("../../etc/passwd", id="a-path"),
        pytest.param("utc", id="wrong-case"),
    ],
)
def test_a_zone_zoneinfo_does_not_know_falls_back_to_utc_with_a_warning(
    zone: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad metadata[bindery_timezone] loses no failure: the event is mapped in UTC, the value logged."""
    with caplog.at_level(logging.WARNING, LOGGER):
        body, found = failed(invoice(metadata={"bindery_timezone": zone, "bindery_locale": "sv"}))
    assert "timezone" not in body
    assert (found.timezone, found.locale, found.invoice) == ("UTC", "sv", INVOICE)
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert repr(zone) in record.getMessage()
    assert EVENT_ID in record.getMessage()
    assert "metadata[bindery_timezone]" in record.getMessage()


@pytest.mark.parametrize(
    "locale",
    [
        pytest.param("EN", id="upper-case"),
        pytest.param("en_US", id="underscore"),
        pytest.param("qq", id="babel-does-not-know"),
        pytest.param("x" * 600, id="long"),
    ],
)
def test_a_bad_locale_falls_back_to_english_with_a_warning(
    locale: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A locale off PaymentFailed's pattern or unknown to Babel: mapped in English, the value logged (cut)."""
    with caplog.at_level(logging.WARNING, LOGGER):
        body, found = failed(invoice(metadata={"bindery_locale": locale}))
    assert "locale" not in body
    assert (found.locale, found.timezone) == ("en", "UTC")
    [record] = caplog.records
    assert repr(locale)[:80] in record.getMessage()
    assert len(record.getMessage()) < 300


def test_an_expanded_customers_preferred_locales_are_read_in_order(caplog: pytest.LogCaptureFixture) -> None:
    """The first usable preferred locale of an expanded Customer applies; the metadata's wins over it."""
    expanded = customer(preferred_locales=["qq", "fr-CA", "de"])
    with caplog.at_level(logging.WARNING, LOGGER):
        _, found = failed(invoice(customer=expanded))
    assert found.locale == "fr-CA"
    assert "customer.preferred_locales[0] 'qq'" in caplog.text
    _, found = failed(invoice(customer=expanded, metadata={"bindery_locale": "sv"}))
    assert found.locale == "sv"


def test_a_non_string_preference_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A preference of another shape than a string (a number) is not used, and is logged."""
    parent = subscription_parent({"bindery_timezone": 7})  # type: ignore[dict-item]
    with caplog.at_level(logging.WARNING, LOGGER):
        _, found = failed(invoice(parent=parent))
    assert found.timezone == "UTC"
    assert "parent.subscription_details.metadata[bindery_timezone] 7" in caplog.text


def test_the_sandboxs_invoice_metadata_reaches_the_event() -> None:
    """The processor sandbox's Invoice renders the metadata it was created with, which the mapping reads."""
    record = {"id": INVOICE, "time": "2026-08-29T10:00:00+00:00", "customer": CUSTOMER, "amount": 900,
              "currency": "eur", "email": EMAIL, "subscription": SUBSCRIPTION,
              "metadata": {"bindery_timezone": "Asia/Tokyo", "bindery_locale": "ja"}}  # fmt: skip
    rendered = sandbox_objects.invoice(record, paid_at=None, attempts=1, url="http://127.0.0.1/i/x")
    _, found = failed(rendered)
    assert (found.timezone, found.locale, found.amount) == ("Asia/Tokyo", "ja", 900)
