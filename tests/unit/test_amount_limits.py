"""One set of amount limits, checked where amounts enter: payment.failed, receipt requests, documents."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from bindings.errors import PermanentError
from bindings.testing import MemoryStateStore
from functions.common import money
from functions.common.messages import ReceiptRequested
from functions.payment_retry.model import PaymentFailed
from functions.receipt_render import invoice, receipt
from tests.unit.receipt_render.test_invoice import event, order, stored
from tests.unit.receipt_render.test_receipt import details, store_with, v2

AT = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
CURRENCIES = ["JPY", "EUR", "KWD"]  # 0, 2 and 3 decimals
TOP = money.MAX_MINOR
LIMIT = f"at most|less than or equal to {TOP}"  # a document's limit, or the bound of any unit price


def failed(amount: int, currency: str) -> PaymentFailed:
    """A payment.failed event for `amount` minor units."""
    return PaymentFailed.model_validate({
        "type": "payment.failed", "event_id": "evt_1", "payment_id": "pay_1", "customer_id": "cus_1",
        "subscription_id": "sub_1", "email": "ann@example.com", "amount": amount, "currency": currency,
        "failed_at": AT.isoformat(), "decline": {"code": "card_declined", "decline_code": "generic_decline"},
    })  # fmt: skip


def requested(amount: int, currency: str) -> ReceiptRequested:
    """A version 1 receipt request for `amount` minor units."""
    return ReceiptRequested(
        request_id="pay_1:receipt", payment_id="pay_1", customer_id="cus_1", email="ann@example.com",
        amount=amount, currency=currency, paid_at=AT,
    )  # fmt: skip


def price(minor: int, currency: str) -> str:
    """`minor` units of `currency` as an order's decimal text."""
    return str(Decimal(minor).scaleb(-money.exponent(currency)))


def lines(*minors: int, currency: str) -> list[dict[str, Any]]:
    """Order lines of one each at the given prices."""
    return [{"description": f"Item {i}", "unit_price": price(m, currency)} for i, m in enumerate(minors)]


@pytest.mark.parametrize("currency", CURRENCIES)
def test_dunning_accepts_one_to_the_limit_and_refuses_beyond(currency: str) -> None:
    """payment.failed takes 1 and MAX_MINOR minor units; 0 and MAX_MINOR + 1 are invalid."""
    assert failed(1, currency).amount == 1
    assert failed(TOP, currency).amount == TOP
    for bad in (0, TOP + 1):
        with pytest.raises(ValidationError, match="amount"):
            failed(bad, currency)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_receipt_requests_take_the_same_limits(currency: str) -> None:
    """A version 1 receipt request takes 1 and MAX_MINOR minor units; 0 and MAX_MINOR + 1 are invalid."""
    assert requested(TOP, currency).amount == TOP
    assert requested(1, currency).amount == 1
    for bad in (0, TOP + 1):
        with pytest.raises(ValidationError, match="amount"):
            requested(bad, currency)


def test_receipt_requests_refuse_currencies_that_are_not_payable() -> None:
    """XAU has no minor unit, ABC is no currency: both are invalid requests, not guessed receipts."""
    for code in ("XAU", "ABC"):
        with pytest.raises(ValidationError, match="currency"):
            requested(100, code)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_every_payment_dunning_accepts_makes_a_valid_receipt(currency: str) -> None:
    """At the limit, the receipt dunning asks for loads, and its total is the charged amount."""
    event_ = failed(TOP, currency)
    loaded = receipt.load(requested(event_.amount, event_.currency), MemoryStateStore())
    assert money.to_minor(receipt._priced(loaded.details).total, currency) == TOP  # noqa: SLF001


def test_a_receipt_at_the_limit_renders() -> None:
    """The largest JPY payment draws as a PDF (twelve digits fit the totals column)."""
    pdf = receipt.render(receipt.load(requested(TOP, "JPY"), MemoryStateStore()))
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize("currency", CURRENCIES)
def test_order_documents_take_unit_prices_and_totals_up_to_the_limit(currency: str) -> None:
    """A unit price or total of MAX_MINOR minor units is an invoice; one minor unit more is refused."""
    fine = order(currency=currency, tax_rate="0", lines=lines(TOP, currency=currency))
    assert invoice.load(event(), stored(fine)) is not None
    for too_much in (lines(TOP + 1, currency=currency), lines(TOP, 1, currency=currency)):
        with pytest.raises(PermanentError, match=LIMIT):
            invoice.load(event(), stored(order(currency=currency, tax_rate="0", lines=too_much)))
    taxed = order(currency=currency, tax_rate="0.1", lines=lines(TOP, currency=currency))
    with pytest.raises(PermanentError, match="total"):
        invoice.load(event(), stored(taxed))


@pytest.mark.parametrize("currency", CURRENCIES)
def test_receipt_details_take_the_same_limits(currency: str) -> None:
    """Billing's receipt details follow the order limits: MAX_MINOR passes, one minor unit more fails."""
    key = "receipt:rcpt-7"
    fine = details(currency=currency, tax_rate="0", lines=lines(TOP, currency=currency))
    assert receipt.load(v2(), store_with(key, fine)).details.currency == currency
    bad = details(currency=currency, tax_rate="0", lines=lines(TOP, 1, currency=currency))
    with pytest.raises(PermanentError, match=LIMIT):
        receipt.load(v2(), store_with(key, bad))


def test_documents_refuse_currencies_that_are_not_payable() -> None:
    """An order in XAU is a permanent error naming the currency."""
    with pytest.raises(PermanentError, match="XAU"):
        invoice.load(event(), stored(order(currency="XAU")))


def test_isk_amounts_the_processor_refuses_are_refused_at_both_edges() -> None:
    """ISK counts in hundredths at the processor but only whole kronur are charged: 550 is invalid."""
    assert failed(500, "ISK").amount == 500
    assert requested(500, "ISK").amount == 500
    with pytest.raises(ValidationError, match="multiple of 100"):
        failed(550, "ISK")
    with pytest.raises(ValidationError, match="multiple of 100"):
        requested(550, "ISK")
