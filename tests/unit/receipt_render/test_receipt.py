"""The receipt pipeline: details from either request version, PDF content, determinism, delivery."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency, format_percent
from pydantic import ValidationError
from pypdf import PdfReader

from bindings.errors import PermanentError
from bindings.testing import MemoryBlobStore, MemoryQueue, MemoryStateStore
from functions.common import names
from functions.common.messages import EmailRequested, ReceiptRequested, ReceiptRequestedV2
from functions.common.testing import UnsignedLinks
from functions.receipt_render import receipt

PAID = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
NOW = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)


def v1(amount: int = 1999, currency: str = "EUR", locale: str = "en") -> ReceiptRequested:
    """A dunning receipt request."""
    return ReceiptRequested(
        request_id="case-1:receipt", payment_id="case-1", customer_id="cus_9", email="ann@example.com",
        amount=amount, currency=currency, paid_at=PAID, locale=locale,
    )  # fmt: skip


def v2(**overrides: Any) -> ReceiptRequestedV2:
    """A billing receipt request naming its details."""
    fields = {
        "request_id": "rq-7", "receipt_id": "rcpt-7", "details_key": "receipt:rcpt-7",
        "customer_id": "cus_7", "email": "bo@example.com", "locale": "de",
    }  # fmt: skip
    return ReceiptRequestedV2.model_validate(fields | overrides)


def details(**overrides: Any) -> dict[str, Any]:
    """Receipt details as the billing system stores them."""
    return {
        "receipt_number": "R-2026-0007",
        "customer": {"name": "Jürgen Weiß", "address": ["Hauptstraße 1", "10115 Berlin"]},
        "paid_at": "2026-03-04T05:06:00Z",
        "currency": "EUR",
        "lines": [
            {"description": "Pro plan, March", "quantity": "1", "unit_price": "49.00"},
            {"description": "Extra seats", "quantity": "3", "unit_price": "7.50"},
        ],
        "tax_rate": "0.19",
        "payment_method": "Visa •••• 4242",
    } | overrides


def plain(words: str) -> str:
    """`words` with the locale's non-breaking spaces as plain spaces."""
    return words.replace("\xa0", " ").replace("\u202f", " ")


def text(pdf: bytes) -> str:
    """All text of a PDF, with the locale's non-breaking spaces as plain spaces."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return plain("\n".join(page.extract_text() for page in pages))


def babel_money(value: str, currency: str, locale: str, *, exact: bool = False) -> str:
    """`value` as the installed Babel's CLDR writes it: the expectation is never hand-typed CLDR output."""
    return plain(format_currency(Decimal(value), currency, locale=locale, decimal_quantization=not exact))


def digits(words: str) -> str:
    """Only the digits of `words`, in order (1'234,56 CHF -> 123456), whatever the locale's separators."""
    return re.sub(r"\D", "", words)


def store_with(key: str, value: dict[str, Any]) -> MemoryStateStore:
    """A billing store holding `value` under `key`."""
    store = MemoryStateStore()
    store.save(key, json.dumps(value).encode())
    return store


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "cldr_locale", "value"),
    [("en", "USD", 1999, "en", "19.99"), ("de", "EUR", 1999, "de", "19.99"),
     ("ja", "JPY", 1999, "ja", "1999"), ("fr-CH", "CHF", 123456, "fr_CH", "1234.56")],
)  # fmt: skip
def test_v1_receipt_shows_the_amount_as_the_locale_writes_it(
    locale: str, currency: str, amount: int, cldr_locale: str, value: str
) -> None:
    """A dunning receipt prints the paid amount in the customer's locale, and the payment id."""
    pdf = receipt.render(receipt.load(v1(amount, currency, locale), MemoryStateStore()))
    content = text(pdf)
    shown = babel_money(value, currency, cldr_locale)
    assert digits(shown) == str(amount)  # the minor units, in order, whatever CLDR's separators
    assert shown in content
    assert "case-1" in content


def test_v2_receipt_reads_its_details_from_billing_state() -> None:
    """Lines, tax and total come from billing-state, in German."""
    loaded = receipt.load(v2(), store_with("receipt:rcpt-7", details()))
    content = text(receipt.render(loaded))
    for expected in ("Quittung", "Jürgen Weiß", "R-2026-0007", "Extra seats", "Visa •••• 4242",
                     "Seite 1 von 1"):  # fmt: skip
        assert expected in content, expected
    # 3 x 7.50 = 22.50; 19 % of 71.50 is 13.585, rounded half-up to 13.59; 71.50 + 13.59 = 85.09.
    amounts = {"7.50": babel_money("7.50", "EUR", "de", exact=True)} | {
        value: babel_money(value, "EUR", "de") for value in ("22.50", "13.59", "85.09")
    }
    for value, shown in amounts.items():
        assert digits(shown) == digits(value), shown  # CLDR writes the amount we computed
        assert shown in content, shown
    rate = plain(format_percent(Decimal("0.19"), locale="de", decimal_quantization=False))
    assert digits(rate) == "19"
    assert f"MwSt. ({rate})" in content  # our catalog's words around CLDR's percent


def test_missing_or_invalid_details_are_permanent_errors_naming_the_key() -> None:
    """An unknown key or details that fail validation cannot succeed on a retry."""
    with pytest.raises(PermanentError, match="no receipt details under 'receipt:rcpt-7'"):
        receipt.load(v2(), MemoryStateStore())
    bad = details(lines=[{"description": "x", "quantity": "-1", "unit_price": "1"}])
    with pytest.raises(PermanentError, match=r"(?s)receipt:rcpt-7.*greater than 0"):
        receipt.load(v2(), store_with("receipt:rcpt-7", bad))


def test_a_v1_request_with_a_malformed_locale_is_a_permanent_error() -> None:
    """Version 1 never validated its locale; the pipeline refuses one before rendering anything."""
    with pytest.raises(PermanentError, match="is not a locale"):
        receipt.load(v1(locale="../../" + "x" * 500), MemoryStateStore())


def test_an_unknown_template_version_is_a_permanent_error() -> None:
    """A request for a template this build does not have says which versions it has."""
    loaded = receipt.load(v2(template_version=9), store_with("receipt:rcpt-7", details()))
    with pytest.raises(PermanentError, match=r"unknown receipt template v9 \(known: v1\)"):
        receipt.render(loaded)


def test_the_same_request_gives_the_same_bytes_even_after_other_documents() -> None:
    """Rendering is deterministic, and fonts reused across documents leave no trace in the next one."""
    loaded = receipt.load(v2(), store_with("receipt:rcpt-7", details()))
    first = receipt.render(loaded)
    cjk = details(customer={"name": "张伟 محمد שלום"})
    receipt.render(receipt.load(v2(), store_with("receipt:rcpt-7", cjk)))
    assert receipt.render(loaded) == first


def test_the_pdf_records_its_template_version_and_is_pdf_a() -> None:
    """The XMP metadata names the template and version, dates it paid_at (never now); PDF/A-2b."""
    pdf = receipt.render(receipt.load(v1(), MemoryStateStore()))
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None
    assert xmp.pdf_keywords == "template=receipt template_version=1"
    assert b"<pdfaid:part>2</pdfaid:part>" in pdf
    dates = dict(re.findall(rb'xmp:(CreateDate|ModifyDate|MetadataDate)="([^"]+)"', pdf))
    assert dates == dict.fromkeys(
        (b"CreateDate", b"ModifyDate", b"MetadataDate"), b"2026-03-04T05:06:00+00:00"
    )
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in pdf


def test_delivery_stores_under_the_final_name_then_requests_the_email_with_the_link() -> None:
    """The blob name depends on the request only; the email carries the link and the total in minor units."""
    documents, mail = MemoryBlobStore(), MemoryQueue(names.EMAIL_REQUESTS_OUT)
    loaded = receipt.load(v2(), store_with("receipt:rcpt-7", details()))
    pdf = receipt.render(loaded)
    for _ in range(2):  # a redelivery overwrites the same blob with the same bytes
        receipt.deliver(loaded, pdf, documents=documents, mail=mail, links=UnsignedLinks(), now=NOW)
    assert list(documents.blobs) == ["receipts/2026/03/rcpt-7-v1.pdf"]
    stored, content_type, metadata = documents.blobs["receipts/2026/03/rcpt-7-v1.pdf"]
    assert (stored, content_type) == (pdf, "application/pdf")
    assert metadata == {"template": "receipt", "templateversion": "1"}
    sent = [m for m in mail.sent if isinstance(m, EmailRequested)]
    assert len(sent) == 2
    assert {m.request_id for m in sent} == {"receipt:rcpt-7"}  # email-send sends it once
    assert sent[0].to == "bo@example.com"
    assert sent[0].template == "receipt"
    assert sent[0].data["amount"] == 8509
    assert sent[0].data["url"] == (
        "https://blobs.example/documents/receipts/2026/03/rcpt-7-v1.pdf?se=2026-03-11T06:00:00Z"
    )


def test_v1_amount_is_one_line_of_the_paid_amount() -> None:
    """A dunning receipt is a single subscription line whose total is the charged amount."""
    loaded = receipt.load(v1(4200, "USD"), MemoryStateStore())
    assert [line.unit_price for line in loaded.details.lines] == [Decimal("42.00")]
    assert loaded.blob_name == "receipts/2026/03/case-1-v1.pdf"


def test_v1_requests_that_cannot_be_receipts_are_permanent_errors_and_naive_times_are_utc() -> None:
    """An amount beyond the limits is refused by the request, and by load; a naive paid_at is read as UTC."""
    with pytest.raises(ValidationError, match="less than or equal to"):
        v1(amount=10**13)
    huge = v1().model_copy(update={"amount": 10**13})  # past the request's own check
    with pytest.raises(PermanentError, match="cannot be a receipt"):
        receipt.load(huge, MemoryStateStore())
    naive = v1().model_copy(update={"paid_at": datetime(2026, 3, 4, 5, 6)})  # noqa: DTZ001 - the point
    assert receipt.load(naive, MemoryStateStore()).details.paid_at == PAID


def test_the_email_request_id_stays_within_its_limit_for_long_ids() -> None:
    """A 120-character receipt id still gives a valid, stable email request id."""
    documents, mail = MemoryBlobStore(), MemoryQueue(names.EMAIL_REQUESTS_OUT)
    long_id = "r" * 120
    loaded = receipt.load(v2(receipt_id=long_id), store_with("receipt:rcpt-7", details()))
    for _ in range(2):
        receipt.deliver(loaded, b"%PDF-", documents=documents, mail=mail, links=UnsignedLinks(), now=NOW)
    ids = {m.request_id for m in mail.sent if isinstance(m, EmailRequested)}
    assert len(ids) == 1
    (only,) = ids
    assert only.startswith("receipt:sha256-")
    assert len(only) <= 120
