"""Description line breaking (`breaks.wrap`) measured with the real fonts, in every shipped script."""

from __future__ import annotations

import itertools
import random
import unicodedata
from datetime import UTC, datetime

import pytest

from functions.receipt_render import breaks, fonts
from functions.receipt_render.layout import Meta, Sheet
from functions.receipt_render.words import Words

ALPHABETS = {
    "latin": "abcdefghijklmnopqrstuvwxyzÀÉÎõüçWM",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΩΣ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюяЖЩ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "cjk": "王小明写发票测试文字東京都한국어テスト",
}
WIDTH = 110.0  # mm, about the description column
_META = Meta("doc-1", "Invoice", "invoice", 1, datetime(2026, 3, 4, tzinfo=UTC), "en")


def _text(alphabet: str, seed: int, length: int = 200, *, spaces: bool = True) -> str:
    rnd = random.Random(seed)  # noqa: S311 - reproducible test text
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 14))))
    return (" " if spaces else "").join(words)[:length].strip()


def _sheet(*texts: str) -> Sheet:
    sheet = Sheet(_META, Words("en"), texts)
    sheet.pdf.set_font(fonts.MAIN.name, "", 9.5)
    return sheet


def _check(text: str, width: float = WIDTH) -> list[str]:
    sheet = _sheet(text)
    lines = breaks.wrap(text, width, sheet.pdf.get_string_width)
    assert " ".join(lines) == text or "".join(lines) == text
    for line in lines:
        assert sheet.pdf.get_string_width(line) <= width or len(line) == 1, line
    return lines


@pytest.mark.parametrize("script", ALPHABETS)
@pytest.mark.parametrize("seed", range(6))
def test_every_line_fits_and_the_lines_give_the_text_back(script: str, seed: int) -> None:
    """Each line is no wider than the column; joined again the lines are the description, nothing lost."""
    text = _text(ALPHABETS[script], seed)
    lines = _check(text)
    assert " ".join(lines) == text


@pytest.mark.parametrize("script", ALPHABETS)
def test_a_word_wider_than_the_column_is_cut_between_characters(script: str) -> None:
    """A run without spaces (CJK, a long code) is cut where it must, each piece filling its line."""
    text = _text(ALPHABETS[script], 1, spaces=False)
    sheet = _sheet(text)
    lines = breaks.wrap(text, WIDTH, sheet.pdf.get_string_width)
    assert "".join(lines) == text
    assert len(lines) > 1
    for line, following in itertools.pairwise(lines):
        assert sheet.pdf.get_string_width(line) <= WIDTH
        assert sheet.pdf.get_string_width(line + following[0]) > WIDTH  # full up to the cut


def test_a_line_never_starts_with_a_combining_mark_or_splits_a_joined_pair() -> None:
    """Characters stay with their marks (é as e + U+0301, Arabic harakat) and joiner pairs stay whole."""
    text = ("e\u0301" * 60) + ("بَ" * 60) + ("a\u200db" * 40)
    sheet = _sheet(text)
    for width in (3.0, 17.0, 41.0):
        lines = breaks.wrap(text, width, sheet.pdf.get_string_width)
        assert "".join(lines) == text
        for line, following in itertools.pairwise(lines):
            assert unicodedata.category(following[0]) not in {"Mn", "Mc", "Me"}
            assert following[0] != "\u200d"
            assert line[-1] != "\u200d"


def test_a_character_wider_than_the_column_gets_a_line_of_its_own() -> None:
    """Nothing loops or vanishes when not even one character fits."""
    lines = _check("WWW", width=0.5)
    assert lines == ["W", "W", "W"]


def test_spaces_inside_a_description_are_kept() -> None:
    """Several spaces in a row survive the break (the text is drawn as it was given)."""
    text = "Seats  x3" + " extra" * 40
    lines = _check(text)
    assert " ".join(lines) == text


def test_each_word_is_measured_once_per_call() -> None:
    """Line filling measures words, not growing lines character by character (the cost was quadratic)."""
    text = _text(ALPHABETS["arabic"], 3)
    sheet = _sheet(text)
    calls: list[str] = []

    def measure(part: str) -> float:
        calls.append(part)
        return sheet.pdf.get_string_width(part)

    lines = breaks.wrap(text, WIDTH, measure)
    assert len(calls) <= len(text.split(" ")) + 1 + 2 * len(lines)


@pytest.mark.parametrize("script", ALPHABETS)
@pytest.mark.parametrize("style", ["", "B"])
def test_the_width_used_for_breaking_is_fpdf2_s_own_measure(script: str, style: str) -> None:
    """`PDF.width` (summed without fpdf2's fragments where nothing is shaped) equals `get_string_width`."""
    texts = [_text(ALPHABETS[script], seed) for seed in range(4)]
    mixed = f"Zoë {texts[0][:40]} 12,00 € {_text(ALPHABETS['cjk'], 9, 30)}"
    sheet = _sheet(*texts, mixed)
    sheet.pdf.set_font(fonts.MAIN.name, style, 9.5)
    for text in (*texts, mixed):
        for part in (text, text[:37], text[5:90]):
            assert sheet.pdf.width(part) == pytest.approx(sheet.pdf.get_string_width(part), abs=1e-9)
