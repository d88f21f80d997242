"""Receipt amounts: a dunning request's minor units become the amount charged, in every currency."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from pypdf import PdfReader

from bindings.errors import PermanentError
from bindings.testing import MemoryBlobStore, MemoryQueue, MemoryStateStore
from functions.common import money, names
from functions.common.messages import EmailRequested, ReceiptRequested
from functions.common.testing import UnsignedLinks
from functions.receipt_render import receipt
from functions.receipt_render.words import Words

PAID = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
DISAGREEING = [("HUF", "hu", 500000, "5000.00"), ("IDR", "id", 15000000, "150000.00"),
               ("COP", "es-CO", 4990000, "49900.00")]  # fmt: skip


def request(amount: int, currency: str, locale: str = "en") -> ReceiptRequested:
    """A dunning receipt request."""
    return ReceiptRequested(
        request_id="case-1:receipt", payment_id="case-1", customer_id="cus_9", email="ann@example.com",
        amount=amount, currency=currency, paid_at=PAID, locale=locale,
    )  # fmt: skip


def plain(words: str) -> str:
    """`words` with the locale's non-breaking spaces as plain spaces."""
    return words.replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("currency", "locale", "minor", "value"), DISAGREEING)
def test_the_receipt_shows_the_amount_charged(currency: str, locale: str, minor: int, value: str) -> None:
    """500000 HUF minor units print as Babel writes 5000.00 HUF, and the email asks for 500000 again."""
    loaded = receipt.load(request(minor, currency, locale), MemoryStateStore())
    assert [line.unit_price for line in loaded.details.lines] == [Decimal(value)]
    pdf = receipt.render(loaded)
    content = plain("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    expected = plain(format_currency(Decimal(value), currency, locale=locale.replace("-", "_"),
                                     currency_digits=False))  # fmt: skip
    assert re.sub(r"\D", "", expected) == str(minor)
    assert expected in content
    mail = MemoryQueue(names.EMAIL_REQUESTS_OUT)
    now = datetime(2026, 3, 4, 6, tzinfo=UTC)
    receipt.deliver(loaded, pdf, documents=MemoryBlobStore(), mail=mail, links=UnsignedLinks(), now=now)
    [sent] = mail.sent
    assert isinstance(sent, EmailRequested)
    assert (sent.data["amount"], sent.data["currency"]) == (minor, currency)


@pytest.mark.parametrize("currency", sorted(money.currencies()))
def test_every_currency_s_receipt_line_is_the_charged_amount(currency: str) -> None:
    """Minor units / 10**exponent are the line's price and total, shown with ISO's digits, and come back."""
    exponent, digits = money.exponent(currency), money.iso_exponent(currency)
    minor = 13579 * 10 ** (exponent - money.precision(currency))
    loaded = receipt.load(request(minor, currency), MemoryStateStore())
    expected = Decimal(minor).scaleb(-exponent)
    assert loaded.details.lines[0].unit_price == expected
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    total = dict(receipt._priced(loaded.details).sums(Words("en"), "Total"))["Total"]  # noqa: SLF001
    assert total == format_currency(expected, currency, format=pattern, locale="en", currency_digits=False)
    assert money.to_minor(receipt._priced(loaded.details).total, currency) == minor  # noqa: SLF001


def test_a_request_that_skipped_its_checks_with_no_payable_currency_is_a_permanent_error() -> None:
    """A request built without validation in XAU is refused by load with the reason, not a crash."""
    unchecked = request(100, "EUR").model_copy(update={"currency": "XAU"})
    with pytest.raises(PermanentError, match="XAU"):
        receipt.load(unchecked, MemoryStateStore())
