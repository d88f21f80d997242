"""The invoice pipeline: order documents from blob events, Unicode names, long invoices, bad orders."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency
from pypdf import PdfReader

from bindings.errors import PermanentError
from bindings.events import parse_blob_event
from bindings.testing import MemoryBlobStore, MemoryQueue
from functions.common import names
from functions.common.messages import EmailRequested
from functions.common.testing import UnsignedLinks
from functions.receipt_render import invoice
from functions.receipt_render.fields import MAX_LINES

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


def order(**overrides: Any) -> dict[str, Any]:
    """An order document as a shop uploads it."""
    return {
        "order_id": "ord-1",
        "invoice_number": "INV-2026-001",
        "issued_at": "2026-03-04T10:00:00Z",
        "due_at": "2026-04-03T10:00:00Z",
        "customer": {"name": "Zoë Ångström", "address": ["1 Main St", "Springfield"]},
        "email": "zoe@example.com",
        "currency": "EUR",
        "lines": [{"description": "Widget", "quantity": "2", "unit_price": "9.995"}],
        "tax_rate": "0.19",
    } | overrides


def event(blob: str = "orders/ord-1.json", length: int | None = 100) -> Any:
    """A BlobCreated event for `blob` in the documents container (Event Grid schema)."""
    return parse_blob_event(
        {
            "id": "ev-1", "eventType": "Microsoft.Storage.BlobCreated",
            "subject": f"/blobServices/default/containers/documents/blobs/{blob}",
            "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z",
            "eventTime": "2026-03-04T10:00:01Z",
            "data": {"api": "PutBlob", "contentLength": length, "sequencer": "01"},
        }
    )  # fmt: skip


def stored(document: dict[str, Any] | bytes, blob: str = "orders/ord-1.json") -> MemoryBlobStore:
    """A documents container holding one order."""
    documents = MemoryBlobStore()
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    documents.put(blob, body, content_type="application/json")
    return documents


def plain(words: str) -> str:
    """`words` with the locale's non-breaking spaces as plain spaces."""
    return words.replace("\xa0", " ").replace("\u202f", " ")


def rendered(document: dict[str, Any]) -> tuple[bytes, str]:
    """The invoice PDF of an order document and its text (non-breaking spaces made plain)."""
    loaded = invoice.load(event(), stored(document))
    assert loaded is not None
    pdf = invoice.render(loaded)
    pages = PdfReader(io.BytesIO(pdf)).pages
    return pdf, plain("\n".join(p.extract_text() for p in pages))


def babel_money(value: str, locale: str, *, exact: bool = False) -> str:
    """`value` EUR as the installed Babel's CLDR writes it, so no expectation hand-types CLDR output."""
    shown = plain(format_currency(Decimal(value), "EUR", locale=locale, decimal_quantization=not exact))
    assert re.sub(r"\D", "", shown) == value.replace(".", ""), shown  # the digits we computed, in order
    return shown


@pytest.mark.parametrize(
    ("name", "words"),
    [("张伟", ["张伟"]), ("山田 太郎", ["山田", "太郎"]), ("김민준", ["김민준"]),
     ("محمد علي", ["محمد", "علي"]), ("שלום כהן", ["שלום", "כהן"])],
)  # fmt: skip
def test_names_in_cjk_arabic_and_hebrew_are_drawn_with_the_shipped_fonts(name: str, words: list[str]) -> None:
    """Each word of the name comes back out of the PDF (right-to-left text is stored in visual order)."""
    _, content = rendered(order(customer={"name": name}))
    for word in words:
        assert word in content


def test_a_200_line_invoice_repeats_the_table_heading_on_every_page() -> None:
    """Automatic page breaks, a heading row on each page, and "page x of y" footers."""
    lines = [{"description": f"Line {i}", "quantity": "1", "unit_price": "1.00"} for i in range(200)]
    pdf, _ = rendered(order(lines=lines, locale="de"))
    pages = [plain(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) == 7
    for number, page in enumerate(pages, start=1):
        assert "Beschreibung" in page
        assert f"Seite {number} von 7" in page
    assert "Line 199" in pages[-1]
    assert babel_money("238.00", "de") in pages[-1]  # 200.00 + 19 % tax


def test_unit_prices_keep_their_digits_and_amounts_round_half_up() -> None:
    """9.995 EUR is shown as such; two of them are 19.99 EUR; the total adds 19 % tax."""
    _, content = rendered(order())
    assert babel_money("9.995", "en", exact=True) in content
    assert babel_money("19.99", "en") in content
    assert babel_money("23.79", "en") in content  # 19.99 + 3.80


def test_field_text_is_drawn_literally_and_unknown_glyphs_become_replacement_characters() -> None:
    """Template syntax is just text; an emoji no shipped font has is drawn as U+FFFD, not dropped."""
    _, content = rendered(order(lines=[{"description": "{{ 7*7 }} {% x %} 📦", "unit_price": "1"}]))
    assert "{{ 7*7 }} {% x %} \ufffd" in content


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"customer": {"name": "x" * 10_000}}, "at most 200 characters"),
        ({"customer": {"name": "Ann\x00\x07"}}, "U+0000"),
        ({"lines": [{"description": "x", "quantity": "-2", "unit_price": "1"}]}, "greater than 0"),
        ({"lines": [{"description": "x", "quantity": "1e12", "unit_price": "1"}]}, "less than or equal"),
        ({"lines": [{"description": "x", "unit_price": "NaN"}]}, "finite"),
        (
            {"lines": [{"description": "x", "unit_price": "1"}] * (MAX_LINES + 1)},
            f"at most {MAX_LINES} items",
        ),
        ({"lines": []}, "at least 1 item"),
        ({"currency": "euro"}, "pattern"),
        ({"invoice_number": "../../etc/passwd"}, "pattern"),
        ({"version": 2}, "version"),
    ],
)
def test_bad_orders_are_permanent_errors_with_the_reason(change: dict[str, Any], reason: str) -> None:
    """Absurd, hostile or unknown-version orders fail validation with a message saying why."""
    with pytest.raises(PermanentError, match="is not a valid order document") as caught:
        invoice.load(event(), stored(order(**change)))
    assert reason in str(caught.value)


def test_events_for_missing_or_oversized_blobs_are_permanent_errors() -> None:
    """A blob deleted before the event arrived, or too large to be an order, is not retried."""
    with pytest.raises(PermanentError, match="does not exist"):
        invoice.load(event(), MemoryBlobStore())
    with pytest.raises(PermanentError, match="at most 2000000"):
        invoice.load(event(length=50_000_000), stored(order()))
    with pytest.raises(PermanentError, match="not a valid order document"):
        invoice.load(event(), stored(b"\xff\xfe not json"))
    huge = order(lines=[{"description": "x", "unit_price": "1"}] * 100_000)  # 4 MB, event says 100 bytes
    with pytest.raises(PermanentError, match="bytes; at most 2000000"):
        invoice.load(event(), stored(huge))


def test_incomplete_or_non_json_blobs_are_ignored() -> None:
    """A zero-byte create (Data Lake CreateFile) or a non-.json upload is not an order."""
    documents = stored(order())
    assert invoice.load(event(length=0), documents) is None
    assert invoice.load(event(blob="orders/scan.png"), documents) is None


def test_an_unknown_template_version_is_a_permanent_error() -> None:
    """An order asking for a template this build lacks is dead-lettered with the known versions."""
    loaded = invoice.load(event(), stored(order(template_version=3)))
    assert loaded is not None
    with pytest.raises(PermanentError, match=r"unknown invoice template v3 \(known: v1\)"):
        invoice.render(loaded)


def test_delivery_names_the_pdf_by_invoice_and_requests_the_invoice_email() -> None:
    """The PDF lands under invoices/yyyy/mm, and the email request carries number, total and link."""
    documents, mail = stored(order()), MemoryQueue(names.EMAIL_REQUESTS_OUT)
    loaded = invoice.load(event(), documents)
    assert loaded is not None
    pdf = invoice.render(loaded)
    name = invoice.deliver(loaded, pdf, documents=documents, mail=mail, links=UnsignedLinks(), now=NOW)
    assert name == "invoices/2026/03/INV-2026-001-v1.pdf"
    assert documents.blobs[name][0] == pdf
    (request,) = mail.sent
    assert isinstance(request, EmailRequested)
    assert request.request_id == "invoice:INV-2026-001-v1"
    assert request.data == {
        "amount": 2379, "currency": "EUR", "invoice_number": "INV-2026-001",
        "url": "https://blobs.example/documents/invoices/2026/03/INV-2026-001-v1.pdf?se=2026-03-11T11:00:00Z",
    }  # fmt: skip
