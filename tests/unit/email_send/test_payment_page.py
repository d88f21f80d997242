"""Dunning emails version 2: the processor's page for the payment first, then the usual card update."""

from __future__ import annotations

from typing import Any

import pytest

from bindings.errors import PermanentError
from functions.common import names
from functions.common.messages import EmailRequested
from functions.email_send.templates import Brand, TemplateError, Templates
from functions.payment_retry.handlers import handle_event
from tests.unit.payment_retry.test_payment_page import failed_v3
from tests.unit.payment_retry.test_processor_errors import NOON, Processor, World
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE, DAY1

BRAND = Brand(name="Acme", sender="billing@acme.example", portal_url="https://acme.example/billing")
PAGE = "https://invoice.stripe.com/i/acct_1/in_7?s=a&t=b"
DUNNING = ("payment_failed", "reminder", "update_card", "final_notice")


def request(template: str, locale: str = "en", version: int = 2, **data: Any) -> EmailRequested:
    """A dunning email request of `version` with the processor's page (unless `data` says otherwise)."""
    return EmailRequested(
        request_id=f"req-{template}", template=template, template_version=version, locale=locale,
        to="ana@example.com", data={
            "amount": 1999, "currency": "EUR", "case_id": "in_7", "payment_page_url": PAGE,
            "payment_page_host": "invoice.stripe.com", **data,
        },
    )  # fmt: skip


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("template", DUNNING)
def test_version_2_shows_the_processor_page_before_the_card_update(template: str, locale: str) -> None:
    """Both parts carry the page, named by its host, and still the portal link after it."""
    email = Templates(BRAND).render(request(template, locale))
    html_page, portal = (
        email.html.index(f'href="{PAGE.replace("&", "&amp;")}"'),
        email.html.index(BRAND.portal_url),
    )
    assert html_page < portal
    assert email.text.index(PAGE) < email.text.index(BRAND.portal_url)
    assert "(invoice.stripe.com)" in email.html
    assert "(invoice.stripe.com)" in email.text


def test_the_english_words_name_the_processor_secure_page() -> None:
    """The customer reads where the link leads: the payment processor's secure page, by its host."""
    email = Templates(BRAND).render(request("reminder"))
    assert (
        f"Complete the payment on our payment processor's secure page (invoice.stripe.com): {PAGE}"
        in email.text
    )
    assert email.subject == "Reminder: please confirm your payment of €19.99"


def test_the_email_dunning_queues_for_an_authentication_shows_the_page() -> None:
    """End to end: what an invoice case queues when the issuer asks for the cardholder shows the page."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(payment_page_url="https://invoice.stripe.com/i/acct_1/in_7"), NOON)
    world.tick(DAY1)
    asked: EmailRequested = world.sent(names.EMAIL_REQUESTS_OUT)[-1]
    email = Templates(BRAND).render(asked)
    assert 'href="https://invoice.stripe.com/i/acct_1/in_7"' in email.html
    assert "secure page (invoice.stripe.com): https://invoice.stripe.com/i/acct_1/in_7" in email.text


def test_version_1_is_unchanged_and_shows_no_page() -> None:
    """The usual emails (a PaymentIntent case, an ordinary decline) link to the portal only."""
    email = Templates(BRAND).render(request("reminder", version=1))
    assert "invoice.stripe.com" not in email.html + email.text
    assert f"\n\nUpdate your payment details: {BRAND.portal_url}\n\n-- \n" in email.text


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://invoice.example/i/1", "https://invoice.stripe.com/" + "a" * 2_000]
)
def test_an_unsafe_page_is_refused_with_the_reason(url: str) -> None:
    """A page that fails the link check is a TemplateError naming data.payment_page_url: nothing is sent."""
    with pytest.raises(TemplateError, match=r"reminder v2: data\.payment_page_url: .*not a safe link"):
        Templates(BRAND, loopback_http=True).render(request("reminder", payment_page_url=url))


def test_a_loopback_http_page_renders_only_in_the_local_stack() -> None:
    """The processor sandbox's http page is refused by default and rendered with `loopback_http`."""
    local = "http://127.0.0.1:8123/i/in_7"
    with pytest.raises(TemplateError, match="not a safe link"):
        Templates(BRAND).render(request("update_card", payment_page_url=local))
    assert (
        local
        in Templates(BRAND, loopback_http=True).render(request("update_card", payment_page_url=local)).text
    )


def test_the_refusal_is_dead_lettered_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """email-send turns an unsafe page into a permanent error (a dead letter) naming the link."""
    monkeypatch.setenv("EMAIL_PROVIDER", "smtp")
    from functions.email_send import app  # noqa: PLC0415 - builds Dapr ports on import

    with pytest.raises(PermanentError, match=r"data\.payment_page_url.*javascript"):
        app.on_email_requested(request("final_notice", payment_page_url="javascript:alert(1)"))
