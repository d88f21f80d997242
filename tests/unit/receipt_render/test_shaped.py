"""Shaped text measured without fpdf2's fragments (`shaped.Shaped`): fpdf2's widths, fpdf2's drawing."""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, datetime

import pytest
from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import TextDirection
from fpdf.line_break import Fragment

from functions.receipt_render import fonts, shaped
from functions.receipt_render.canvas import PDF
from functions.receipt_render.layout import Meta, Sheet
from functions.receipt_render.words import Words
from tests.unit.receipt_render.test_breaks import ALPHABETS, _text

MIXED = "".join(ALPHABETS.values())
SPECIAL = (
    "e\u0301 n\u0303o\u0308 " * 3,  # combining marks
    "بَ بِّ سَلَامٌ عَلَيْكُمْ",  # Arabic with harakat
    "שָׁלוֹם עוֹלָם",  # Hebrew with points
    "a\u200db a\u200cb ب\u200dب ل\u200c\u0627",  # joiners
    "لا 12,00 € (abc) [שלום] ١٢٣ x",  # both directions, numbers, brackets
    "Zoë 東京 한국어 テスト Ωμέγα Жук",  # every script beside each other
    "\u202bembedded\u202c \u2067isolate\u2069",  # explicit embedding and isolate
)
_META = Meta("doc-1", "Invoice", "invoice", 1, datetime(2026, 3, 4, tzinfo=UTC), "en")


def _fpdf2(pdf: PDF, text: str) -> float:
    """fpdf2's own `get_string_width(text)`, without any of `PDF`'s overrides of its fragments."""
    fragments = FPDF._preload_bidirectional_text(pdf, text, markdown=False)  # noqa: SLF001 - not PDF's override
    return sum(Fragment.get_width(fragment) for fragment in fragments)


def _texts() -> list[str]:
    alphabets = {**ALPHABETS, "mixed": MIXED}
    return [_text(alphabet, seed) for alphabet in alphabets.values() for seed in range(3)] + list(SPECIAL)


@pytest.mark.parametrize("style", ["", "B"])
@pytest.mark.parametrize("size", [8.0, 9.5, 20.0])
def test_a_shaped_width_is_fpdf2_s_to_the_last_bit(style: str, size: float) -> None:
    """`PDF.width` with shaping on equals fpdf2's measure exactly: every script, mixed, marks, joiners."""
    texts = _texts()
    pdf = Sheet(_META, Words("en"), texts).pdf
    pdf.set_font(fonts.MAIN.name, style, size)
    assert pdf.text_shaping
    for text in texts:
        for part in (text, text[:37], text[5:90], text[3:4], *text.split(" ")):
            assert pdf._shaped.applies(part)  # noqa: SLF001 - the path under test
            assert pdf.width(part) == _fpdf2(pdf, part), part
            assert pdf.get_string_width(part) == _fpdf2(pdf, part), part


@pytest.mark.parametrize("direction", [TextDirection.LTR, TextDirection.RTL])
def test_text_shaped_without_bidi_is_one_segment_for_fpdf2_s_bidi(direction: TextDirection) -> None:
    """Where `Shaped` skips fpdf2's bidi (one direction's classes), fpdf2 finds that one segment too."""
    points = (*range(0x20, 0x3100), *range(0x4E00, 0x4F00), 0x200C, 0x200D, 0x034F, 0xFE0F)
    pool = [chr(point) for point in points if unicodedata.category(chr(point)) != "Cs"]
    one_way = shaped._one_way  # noqa: SLF001 - the rule under test
    beside = "a" if direction == TextDirection.LTR else "\u05d0"
    pool = [char for char in pool if one_way(char + beside, None) == direction]
    strong = [char for char in pool if unicodedata.bidirectional(char) in {"L", "R", "AL"}]
    rnd = random.Random(7)  # noqa: S311 - reproducible test text
    checked = 0
    while checked < 3000:
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 30))) + rnd.choice(strong)
        text = text[::-1] if rnd.random() < 0.5 else text
        if one_way(text, None) != direction:
            continue
        checked += 1
        assert auto_detect_base_direction(text) == direction
        segments = BidiParagraph(text=text, base_direction=direction, preserve_bn_chars=True)
        assert segments.get_bidi_fragments() == ((text, direction),), text


def _document(texts: list[str]) -> bytes:
    sheet = Sheet(_META, Words("en"), texts)
    sheet.block(texts[:3], bold_first=True)
    sheet.items(["Description", "Qty", "Price", "Amount"], [(text, "1", "1.00", "1.00") for text in texts])
    return sheet.output()


def test_a_document_is_drawn_as_fpdf2_alone_draws_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widths from `Shaped` and the quick graphics-state copy leave the PDF's bytes as fpdf2's own give."""
    texts = _texts()
    ours = _document(texts)
    monkeypatch.setattr(shaped.Shaped, "applies", lambda _self, _text: False)
    monkeypatch.setattr(PDF, "_get_current_graphics_state", FPDF._get_current_graphics_state)  # noqa: SLF001
    assert _document(texts) == ours
