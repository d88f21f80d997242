"""The email money filter: minor units as the processor counts them, shown with ISO 4217's digits."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from functions.common import money
from functions.common.messages import EmailRequested
from functions.email_send import templates
from functions.email_send.templates import Brand, TemplateError, Templates

BRAND = Brand(name="Acme", sender="Acme <billing@acme.example>", portal_url="https://acme.example/billing")
# The examples: ISO 4217 (and the processor) count two decimals where CLDR shows none.
DISAGREEING = [("HUF", "hu", 500000, "5000.00"), ("IDR", "id", 15000000, "150000.00"),
               ("COP", "es-CO", 4990000, "49900.00")]  # fmt: skip


def babel(value: str, currency: str, locale: str) -> str:
    """Babel's formatting of the expected amount with the locale's two-digit currency pattern."""
    return format_currency(Decimal(value), currency, locale=locale.replace("-", "_"), currency_digits=False)


@pytest.mark.parametrize(("currency", "locale", "minor", "value"), DISAGREEING)
def test_the_filter_shows_the_amount_charged_not_100_times_it(
    currency: str, locale: str, minor: int, value: str
) -> None:
    """500000 HUF minor units are 5 000,00 Ft in the email, as Babel writes 5000.00 HUF in hu."""
    shown = templates.money(minor, currency, locale)
    assert shown == babel(value, currency, locale)
    assert re.sub(r"\D", "", shown) == str(minor)


@pytest.mark.parametrize(("currency", "locale", "minor", "value"), DISAGREEING)
def test_a_rendered_receipt_email_carries_the_charged_amount(
    currency: str, locale: str, minor: int, value: str
) -> None:
    """The text part of a receipt email shows the amount in major units, as Babel writes it."""
    request = EmailRequested(
        request_id="r-1", template="receipt", locale=locale, to="ana@example.com",
        data={"amount": minor, "currency": currency, "url": "https://files.example/r.pdf"},
    )  # fmt: skip
    email = Templates(BRAND).render(request)
    assert babel(value, currency, email.locale) in email.text


@pytest.mark.parametrize("currency", sorted(money.currencies()))
def test_every_currency_is_shown_with_its_iso_digits(currency: str) -> None:
    """For every payable currency the email shows Babel's writing of minor / 10**exponent."""
    digits = money.iso_exponent(currency)
    minor = 987654321 * 10 ** (money.exponent(currency) - money.precision(currency))
    expected = Decimal(minor).scaleb(-money.exponent(currency))
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    shown = templates.money(minor, currency.lower(), "en")
    assert shown == format_currency(expected, currency, format=pattern, locale="en", currency_digits=False)


def test_a_currency_without_minor_units_is_a_template_error() -> None:
    """XAU has no minor unit: the request is refused with the reason instead of guessing two decimals."""
    with pytest.raises(TemplateError, match="XAU"):
        templates.money(100, "XAU", "en")
