"""User text prints literally: fpdf2's page-count alias is ours alone, and bidi controls are refused."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

import pytest

from bindings.errors import PermanentError
from functions.receipt_render.canvas import PAGES
from functions.receipt_render.words import Words
from tests.unit.receipt_render.documents import (
    INVOICE_FIELDS,
    LOCATIONS,
    RECEIPT_FIELDS,
    invoice_pdf,
    load_invoice,
    load_receipt,
    receipt_pdf,
)
from tests.unit.receipt_render.drawn import text_objects

if TYPE_CHECKING:
    from collections.abc import Callable

    from functions.receipt_render import invoice, receipt

RENDERS = [*((invoice_pdf, f) for f in INVOICE_FIELDS), *((receipt_pdf, f) for f in RECEIPT_FIELDS)]
IDS = [f"{render.__name__[:-4]}-{field}" for render, field in RENDERS]
ALIASES = ("{nb}", "Bundle of {nb} licences", "{nb}{nb} / {page} {pages}")


@pytest.mark.parametrize("text", ALIASES)
@pytest.mark.parametrize(("render", "field"), RENDERS, ids=IDS)
def test_the_page_count_alias_in_user_text_prints_literally(
    render: Callable[[str, str], bytes], field: str, text: str
) -> None:
    """`{nb}` in any text field is drawn as typed, and the footer still counts the pages."""
    (page,) = text_objects(render(field, text))
    assert text in page
    locale = "en" if render is invoice_pdf else "de"  # the sample order's and receipt request's
    assert page[-1] == Words(locale)["page"].format(page=1, pages=1)


def test_our_private_alias_in_unvalidated_text_is_not_filled_in() -> None:
    """An issuer line (configuration, not validated) holding our alias shows U+FFFD, never a page count."""
    (page,) = text_objects(invoice_pdf("issuer", f"Bundle of {PAGES} licences"))
    assert "Bundle of \ufffdnb licences" in page
    assert page[-1] == "Page 1 of 1"


@pytest.mark.parametrize("name", ["Ann Lee", "שלום כהן", "محمد علي", "张伟"])
def test_the_footer_counts_pages_with_and_without_shaping(name: str) -> None:
    """The private page-count alias is filled in when HarfBuzz shapes the document too."""
    pages = text_objects(invoice_pdf("name", name))
    assert [page[-1] for page in pages] == ["Page 1 of 1"]


CONTROLS = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
LOADS: list[tuple[Callable[[str, str], invoice.Invoice | receipt.Receipt], str]] = [
    *((load_invoice, f) for f in INVOICE_FIELDS if f != "issuer"),
    *((load_receipt, f) for f in RECEIPT_FIELDS if f != "issuer"),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{c:04X}" for c in CONTROLS])
@pytest.mark.parametrize(("load", "field"), LOADS, ids=[f"{load.__name__[5:]}-{f}" for load, f in LOADS])
def test_bidi_controls_are_refused_naming_the_code_point_and_the_field(
    load: Callable[[str, str], object], field: str, control: int
) -> None:
    """A bidi override, isolate or mark in any text field dead-letters the document, naming it and where."""
    spoof = f"Credit {chr(control)}00.05- applied"
    with pytest.raises(PermanentError) as caught:
        load(field, spoof)
    reason = str(caught.value)
    assert f"U+{control:04X} {unicodedata.name(chr(control))}" in reason
    assert LOCATIONS[field] in reason
    assert "bidirectional" in reason


@pytest.mark.parametrize(("load", "field"), LOADS, ids=[f"{load.__name__[5:]}-{f}" for load, f in LOADS])
def test_right_to_left_text_without_controls_is_accepted(
    load: Callable[[str, str], object], field: str
) -> None:
    """Hebrew and Arabic with digits and Latin stay valid: only the invisible controls are refused."""
    assert load(field, "שלום כהן 12 / محمد (Ltd.)") is not None
