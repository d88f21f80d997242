"""Every script we ship fonts for, in every text field of both templates, is drawn with the right fonts.

What is checked is what a viewer draws, not what text extraction guesses: `drawn` decodes each text
object of the content stream with the font in effect there (q/Q and Tf tracked) and compares it with
the string the template drew in that cell, so a field that follows non-Latin text and is shown with
the wrong font (fpdf2 issue #1772, the fix of PR #1775 undone by the line's q…Q) fails here.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from pypdf import PdfReader, PdfWriter

from functions.receipt_render import invoice
from tests.unit.receipt_render.documents import INVOICE_FIELDS, RECEIPT_FIELDS, invoice_pdf, receipt_pdf
from tests.unit.receipt_render.drawn import Recorder, mismatches, text_objects
from tests.unit.receipt_render.test_invoice import event, order, stored

if TYPE_CHECKING:
    from collections.abc import Callable

SCRIPTS = {
    "latin": "Zoë Ångström",
    "greek": "Ελληνικά",
    "cyrillic": "Кириллица",
    "japanese": "山田 はなこ",
    "korean": "김민준",
    "chinese": "张伟",
    "arabic": "محمد علي",
    "hebrew": "שלום כהן",
}
MIXES: dict[str, Callable[[str], str]] = {
    "alone": lambda text: text,
    "first": lambda text: f"{text} / Ann 12",
    "last": lambda text: f"Ann 12 / {text}",
}


CASES = [
    *((invoice_pdf, field) for field in INVOICE_FIELDS),
    *((receipt_pdf, field) for field in RECEIPT_FIELDS),
]


@pytest.mark.parametrize("mix", sorted(MIXES))
@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize(("render", "field"), CASES, ids=[f"{r.__name__[:-4]}-{f}" for r, f in CASES])
def test_every_cell_is_drawn_with_fonts_that_show_its_text(
    render: Callable[[str, str], bytes], field: str, script: str, mix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each text object decodes, under the font in effect, to the string drawn there, after any script."""
    recorder = Recorder(monkeypatch)
    text = MIXES[mix](SCRIPTS[script])
    pdf = render(field, text)
    assert text in recorder.expected(1), "the field was not drawn as one cell"
    assert mismatches(pdf, recorder) == []


def test_the_check_notices_a_cell_shown_with_another_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """A content stream whose font selection is swapped decodes to other text: the check can fail."""
    recorder = Recorder(monkeypatch)
    pdf = invoice_pdf("name", "Zoë Ångström")
    assert mismatches(pdf, recorder) == []
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    contents = writer.pages[0].get_contents()
    assert contents is not None
    regular = contents.get_data()
    assert b"BT /F1 10.00 Tf ET" in regular
    contents.set_data(regular.replace(b"BT /F1 10.00 Tf ET", b"BT /F2 10.00 Tf ET", 1))  # bold's codes
    writer.pages[0].replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    swapped = out.getvalue()
    assert text_objects(swapped) != text_objects(pdf)
    assert mismatches(swapped, recorder) != []


@pytest.mark.parametrize(
    "scripts", [("greek", "japanese", "cyrillic"), ("korean", "hebrew")], ids=["plain", "shaped"]
)
def test_wrapped_non_latin_descriptions_over_several_pages_are_drawn_right(
    scripts: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrapped non-Latin descriptions across page breaks and repeated headings: every cell shows."""
    recorder = Recorder(monkeypatch)
    lines = [
        {"description": f"{SCRIPTS[script]} " * 12 + f"{index}", "quantity": "1", "unit_price": "1.00"}
        for index in range(20)
        for script in scripts
    ]
    loaded = invoice.load(event(), stored(order(customer={"name": SCRIPTS["chinese"]}, lines=lines)))
    assert loaded is not None
    pdf = invoice.render(loaded)
    pages = text_objects(pdf)
    assert len(pages) > 3
    assert mismatches(pdf, recorder) == []
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
