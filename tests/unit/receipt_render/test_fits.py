"""Text fields at their maxima in every shipped script, and amounts at the limits, fit the page whole.

Every text field at its validated maximum, in every script we ship fonts for, and every amount at the
money limits, is drawn inside the page's margins, over no other text, and whole (issue 14, items 2, 3).

What is checked is what the PDF draws: `boxes` places every glyph of every text object with the widths
the PDF declares and reads its ink from the embedded font, so a name running off the page or a unit
price drawn over the amount beside it fails here. `drawn` checks that each text object shows the text
the layout meant there, and the layout's cells together hold each field's text (wrapping drops nothing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from functions.common import money
from functions.receipt_render import invoice, receipt
from functions.receipt_render.layout import Meta, Sheet
from functions.receipt_render.words import Words
from tests.unit.receipt_render.boxes import Box, overlapping, page_boxes
from tests.unit.receipt_render.documents import (
    DESCRIPTION,
    ISSUER,
    ISSUER_LINES,
    NAME,
    TEXT,
    WIDE,
    filled,
    invoice_case,
    receipt_case,
    top_lines,
)
from tests.unit.receipt_render.drawn import Recorder, mismatches
from tests.unit.receipt_render.test_invoice import event, order, stored
from tests.unit.receipt_render.test_receipt import details, store_with, v2

if TYPE_CHECKING:
    from collections.abc import Callable

# The printable area (mm from the top-left corner of A4): the 18 mm side and top margins, and the bottom
# 8 mm, below the footer's band.
AREA = (18.0, 18.0, 210.0 - 18.0, 297.0 - 8.0)
TEXT_FIELDS: dict[str, dict[str, int]] = {
    "invoice": {"name": NAME, "address": TEXT, "description": DESCRIPTION, "issuer": ISSUER},
    "receipt": {"name": NAME, "address": TEXT, "description": DESCRIPTION, "payment_method": TEXT,
                "issuer": ISSUER},
}  # fmt: skip
ID_FIELDS = {
    "invoice": {"invoice_number": 60, "order_id": 120},
    "receipt": {"receipt_number": 120, "receipt_id": 120},
}
PLACES = {"invoice_number": 3, "order_id": 1, "receipt_number": 1, "receipt_id": 1}  # title, fields, footer
RENDER: dict[str, Callable[[dict[str, str], list[str]], bytes]] = {
    "invoice": invoice_case,
    "receipt": receipt_case,
}


def check_fits(pdf: bytes) -> list[list[Box]]:
    """Assert every text object's ink lies in the printable area and over no other text; the boxes."""
    pages = page_boxes(pdf)
    left, top, right, bottom = AREA
    for number, boxes in enumerate(pages, 1):
        outside = [b for b in boxes if b.left < left or b.top < top or b.right > right or b.bottom > bottom]
        assert outside == [], f"page {number}: drawn outside the printable area"
        assert overlapping(boxes) == [], f"page {number}: text drawn over other text"
    return pages


def check_whole(recorder: Recorder, pdf: bytes, text: str, times: int = 1) -> None:
    """Assert the cells drawn hold `text` (`times` over), line breaks aside, each shown with its fonts."""
    assert mismatches(pdf, recorder) == []
    pages, wanted = len(page_boxes(pdf)), "".join(text.split())
    found = sum(
        "".join("".join(recorder.expected(pages, footer=footer)).split()).count(wanted)
        for footer in (False, True)
    )
    assert found >= times, "part of the field's text was not drawn"


def render_field(document: str, field: str, text: str) -> bytes:
    """`document` with `text` in `field`, every other field as in the examples."""
    issuer = [text, *ISSUER_LINES[1:]] if field == "issuer" else list(ISSUER_LINES)
    return RENDER[document]({field: text} if field != "issuer" else {}, issuer)


CASES = [(document, field) for document, fields in TEXT_FIELDS.items() for field in fields]


@pytest.mark.parametrize("script", sorted(WIDE))
@pytest.mark.parametrize(("document", "field"), CASES, ids=[f"{d}-{f}" for d, f in CASES])
def test_a_text_field_at_its_maximum_wraps_inside_the_page(
    document: str, field: str, script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field at its maximum length in wide glyphs of any script stays inside the margins, apart, whole."""
    text = filled(script, TEXT_FIELDS[document][field])
    assert len(text) == TEXT_FIELDS[document][field]
    recorder = Recorder(monkeypatch)
    pdf = render_field(document, field, text)
    check_fits(pdf)
    check_whole(recorder, pdf, text, times=6 if field == "address" else 1)


@pytest.mark.parametrize("script", sorted(WIDE))
@pytest.mark.parametrize("document", sorted(TEXT_FIELDS))
def test_every_text_field_at_its_maximum_at_once_fits(
    document: str, script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every field and id of a document at its maximum together: pages break, nothing overlaps or is lost."""
    texts = {field: filled(script, length) for field, length in TEXT_FIELDS[document].items()}
    ids = {field: "W" * length for field, length in ID_FIELDS[document].items()}
    recorder = Recorder(monkeypatch)
    fields = {**texts, **ids}
    del fields["issuer"]
    pdf = RENDER[document](fields, [texts["issuer"], *ISSUER_LINES[1:]])
    check_fits(pdf)
    for field, text in texts.items():
        check_whole(recorder, pdf, text, times=6 if field == "address" else 1)


@pytest.mark.parametrize("glyph", ["W", "0", "_"])
@pytest.mark.parametrize(
    ("document", "field"),
    [(d, f) for d, fields in ID_FIELDS.items() for f in fields],
    ids=[f"{d}-{f}" for d, fields in ID_FIELDS.items() for f in fields],
)
def test_a_document_number_at_its_maximum_fits_in_title_fields_and_footer(
    document: str, field: str, glyph: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The longest number or id (title, fields, footer beside "Page x of y") stays inside and apart."""
    text = glyph * ID_FIELDS[document][field]
    recorder = Recorder(monkeypatch)
    pdf = RENDER[document]({field: text}, list(ISSUER_LINES))
    check_fits(pdf)
    check_whole(recorder, pdf, text, times=PLACES[field])


COLUMNS = [("JPY", "en"), ("EUR", "de"), ("BHD", "en"), ("CLF", "es-CL"), ("MGA", "en"), ("MGA", "fr-CH"),
           ("INR", "en-IN"), ("CHF", "de-CH"), ("ISK", "is")]  # fmt: skip


@pytest.mark.parametrize(("currency", "locale"), COLUMNS)
@pytest.mark.parametrize("document", sorted(RENDER))
def test_number_columns_and_totals_at_the_money_limits_do_not_overlap(
    document: str, currency: str, locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quantity, unit price, amount and the sums at their maxima stay in their columns, whole and apart."""
    lines, rate = top_lines(currency)
    recorder = Recorder(monkeypatch)
    if document == "invoice":
        loaded = invoice.load(
            event(), stored(order(currency=currency, locale=locale, lines=lines, tax_rate=rate))
        )
        assert loaded is not None
        pdf = invoice.render(loaded, list(ISSUER_LINES))
        priced = invoice._priced(loaded.order)  # noqa: SLF001
    else:
        store = store_with("receipt:rcpt-7", details(currency=currency, lines=lines, tax_rate=rate))
        loaded_receipt = receipt.load(v2(locale=locale), store)
        pdf = receipt.render(loaded_receipt, list(ISSUER_LINES))
        priced = receipt._priced(loaded_receipt.details)  # noqa: SLF001
    assert priced.total.scaleb(money.exponent(currency)) > money.MAX_MINOR * Decimal("0.9")
    check_fits(pdf)
    words = Words(locale)
    shown = [
        *(cell for row in priced.rows(words) for cell in row[1:]),
        *(v for _, v in priced.sums(words, "-")),
    ]
    assert mismatches(pdf, recorder) == []
    assert set(shown) <= set(recorder.expected(len(page_boxes(pdf))))


def test_the_check_notices_text_drawn_over_text_and_off_the_page() -> None:
    """A sheet drawing a label over a value and a name past the right margin fails the check."""
    meta = Meta("doc-1", "Check", "check", 1, datetime(2026, 3, 4, tzinfo=UTC), "en")
    sheet = Sheet(meta, Words("en"), ["Total", "€1,000.00", "Zoë"])
    sheet.pdf.set_xy(120, 100)
    sheet.pdf.draw(40, 7, "Total")
    sheet.pdf.set_xy(125, 100)
    sheet.pdf.draw(40, 7, "€1,000.00")
    with pytest.raises(AssertionError, match="over other text"):
        check_fits(sheet.output())
    sheet = Sheet(meta, Words("en"), ["Zoë"])
    sheet.pdf.set_xy(185, 100)
    sheet.pdf.draw(10, 7, "Zoë Ångström")
    with pytest.raises(AssertionError, match="outside the printable area"):
        check_fits(sheet.output())
    a, b = Box("a", 10, 10, 20, 14), Box("b", 20, 10, 30, 14)
    assert overlapping([a, b]) == [], "boxes that only touch do not overlap"


def test_number_columns_wider_than_the_page_allows_are_drawn_smaller_and_apart() -> None:
    """Numbers too wide for their columns at the table's size shrink the table's font, not the page."""
    meta = Meta("doc-1", "Check", "check", 1, datetime(2026, 3, 4, tzinfo=UTC), "en")
    rows = [("Widget " * 20, "9" * 30, "€" + "8" * 40, "€" + "7" * 40)]
    sheet = Sheet(meta, Words("en"), [cell for row in rows for cell in row])
    sheet.items(("Description", "Qty", "Unit price", "Amount"), rows)
    boxes = check_fits(sheet.output())[0]
    assert {"9" * 30, "€" + "8" * 40, "€" + "7" * 40} <= {box.text for box in boxes}
