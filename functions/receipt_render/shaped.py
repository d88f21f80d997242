"""Widths of shaped text as fpdf2 measures it, without building its fragments.

With text shaping on (a document with Arabic or Hebrew), fpdf2's `get_string_width` splits the text
into bidirectional segments, each segment into runs of one font and script (`FPDF._parse_chars`),
builds a fragment with a copy of the graphics state for every run, and has HarfBuzz shape each run.
Mixed-script text changes font at nearly every character, so that was most of a render's cost.
`Shaped.width` takes the same segments (fpdf2's own bidi, skipped for text whose characters' classes
leave it one segment: a word of one direction), splits them into the same runs by the same rules, and
measures each run with the same `TTFFont.get_text_width` call a fragment makes, once per document for
each font, size, direction and run: the sum is fpdf2's, to the last bit. The fragments fpdf2 builds to
draw a line then take their widths from the same runs (`adopt`) instead of shaping each twice again.

Only the plain case is done here (TrueType font, no stretching, character spacing, sub- and
superscript, underline or strike-through, no page-count alias); `applies` says when, and
`canvas.PDF.width` asks fpdf2 otherwise.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Any, cast

from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import CharVPos, TextDirection
from fpdf.fonts import TTFFont
from fpdf.line_break import Fragment
from fpdf.unicode_script import UnicodeScript, get_unicode_script

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fpdf import FPDF

_NEUTRAL = (UnicodeScript.COMMON, UnicodeScript.UNKNOWN)
# Bidi classes of text that fpdf2's bidi makes one segment: level 0 in a left-to-right paragraph (no
# R, AL or AN; no embeddings, overrides, isolates or separators), or level 1 in a right-to-left one
# (R or AL and no L, numbers, embeddings, overrides, isolates or separators): a word, a line of one script.
_LEFT_TO_RIGHT = frozenset(("L", "EN", "ES", "ET", "CS", "NSM", "WS", "ON", "BN"))
_RIGHT_TO_LEFT = frozenset(("R", "AL", "ES", "ET", "CS", "NSM", "WS", "ON", "BN"))
_STRONG_RIGHT = frozenset(("R", "AL"))
_Key = tuple[str, float, TextDirection, str]


class Shaped:
    """The shaped-text widths of one document, each run of one font measured once."""

    def __init__(self, pdf: FPDF) -> None:
        self._pdf = pdf
        self._runs: dict[_Key, float] = {}
        self._params: tuple[object, ...] = ()

    def applies(self, text: str) -> bool:
        """Whether `width(text)` is fpdf2's measure: shaping on, plain TrueType text, no page-count alias."""
        pdf = self._pdf
        alias = pdf.str_alias_nb_pages
        return (
            bool(pdf.text_shaping)
            and isinstance(pdf.current_font, TTFFont)
            and pdf.font_stretching == 100  # noqa: PLR2004 - percent, fpdf2's default
            and not pdf.char_spacing
            and pdf.char_vpos == CharVPos.LINE
            and not pdf.underline
            and not pdf.strikethrough
            and not (alias and alias in text)
        )

    def width(self, text: str) -> float:
        """`pdf.get_string_width(text)` when `applies(text)`: the sum of its runs' shaped widths (mm)."""
        pdf = self._pdf
        shaping: dict[str, Any] = pdf.text_shaping  # type: ignore[assignment]
        self._shaping(shaping)
        paragraph = _one_way(text, shaping["direction"])  # what fpdf2's bidi finds, without its cost
        segments: tuple[tuple[str, TextDirection], ...] = ((text, paragraph),) if paragraph and text else ()
        if paragraph is None:
            paragraph = shaping["direction"] or auto_detect_base_direction(text)
            segments = BidiParagraph(
                text=text, base_direction=paragraph, preserve_bn_chars=True, alias=pdf.str_alias_nb_pages
            ).get_bidi_fragments()
        total: float = 0
        for segment, direction in segments:
            for font_id, run in self._split(segment):
                total += self._run(font_id, run, paragraph, direction)
        return total

    def _run(
        self, font_id: str | None, run: str, paragraph: TextDirection, direction: TextDirection
    ) -> float:
        """One fragment's `get_width`: the run shaped in its font, at the current size, in `direction`."""
        pdf = self._pdf
        font = pdf.fonts[font_id] if font_id else pdf.current_font
        key = (font.fontkey, pdf.font_size_pt, direction, run)  # type: ignore[union-attr]
        known = self._runs.get(key)
        if known is None:
            params = {**pdf.text_shaping, "paragraph_direction": paragraph, "fragment_direction": direction}  # type: ignore[dict-item]
            _, wide = font.get_text_width(run, pdf.font_size_pt, params)  # type: ignore[union-attr]
            known = self._runs[key] = wide / pdf.k
        return known

    def adopt(self, fragments: Iterable[Fragment]) -> None:
        """Let fpdf2's fragments of a text that `applies` take their widths from the runs measured here.

        fpdf2 measures each fragment it draws twice (the line's width, then the fragment's), each a
        HarfBuzz shaping; a run measured while breaking lines is then not shaped again for its width.
        """
        for fragment in fragments:
            if type(fragment) is Fragment:
                fragment.__class__ = _Known
                cast("_Known", fragment).shaped = self

    def known(self, fragment: Fragment) -> float:
        """`fragment.get_width()`: its run's width, measured by fpdf2 once per document."""
        shaping = fragment.text_shaping_parameters
        if not shaping:
            return Fragment.get_width(fragment)
        self._shaping(shaping)
        text = "".join(fragment.characters)
        key = (fragment.font.fontkey, fragment.font_size_pt, shaping["fragment_direction"], text)
        known = self._runs.get(key)
        if known is None:
            known = self._runs[key] = Fragment.get_width(fragment)
        return known

    def _shaping(self, shaping: dict[str, Any]) -> None:
        """Forget the runs' widths if the document shapes otherwise now (`set_text_shaping` again)."""
        params = (shaping["features"], shaping["direction"], shaping["script"], shaping["language"])
        if params != self._params:
            self._runs.clear()
            self._params = params

    def _split(self, text: str) -> list[tuple[str | None, str]]:
        """`text` in fpdf2's runs (`FPDF._parse_chars` without markdown): (fallback font id or None, run)."""
        pdf = self._pdf
        cmap = pdf.current_font.cmap  # type: ignore[union-attr]
        style = ("B" if "B" in pdf.font_style else "") + ("I" if "I" in pdf.font_style else "")
        runs: list[tuple[str | None, str]] = []
        chars: list[str] = []
        fallback: str | None = None
        script: UnicodeScript | None = None
        for char in text:
            here = get_unicode_script(char)
            if here not in _NEUTRAL and here != script:
                if chars and script:
                    runs.append((fallback, "".join(chars)))
                    chars, fallback = [], None  # fpdf2 forgets the run's script too, then sets it
                script = here
            if char != "\n" and ord(char) not in cmap and (chosen := pdf.get_fallback_font(char, style)):
                if chosen != fallback:
                    if chars:
                        runs.append((fallback, "".join(chars)))
                        chars, script = [], None if fallback else script
                    fallback = chosen
                chars.append(char)
                continue
            if fallback:
                if chars:
                    runs.append((fallback, "".join(chars)))
                    chars, script = [], None
                fallback = None
            chars.append(char)
        if chars:
            runs.append((fallback, "".join(chars)))
        return runs


class _Known(Fragment):
    """A fragment of plain shaped text (`Shaped.applies`), its whole width looked up in `shaped`."""

    shaped: Shaped | None = None  # fpdf2's clones (line breaking) measure themselves

    def get_width(
        self,
        start: int = 0,
        end: int | None = None,
        chars: str | None = None,
        initial_cs: bool = True,  # noqa: FBT001, FBT002
    ) -> float:
        if self.shaped is None or start or end is not None or chars is not None:
            return super().get_width(start, end, chars, initial_cs)
        return self.shaped.known(self)


def _one_way(text: str, direction: TextDirection | None) -> TextDirection | None:
    """The direction of `text` if fpdf2's bidi makes it one segment (by its classes), else None."""
    classes = set(map(_bidi_class, text))
    if direction in (None, TextDirection.LTR) and classes <= _LEFT_TO_RIGHT:
        return TextDirection.LTR
    if direction in (None, TextDirection.RTL) and classes <= _RIGHT_TO_LEFT and classes & _STRONG_RIGHT:
        return TextDirection.RTL
    return None


@functools.cache
def _bidi_class(char: str) -> str:
    return unicodedata.bidirectional(char)
