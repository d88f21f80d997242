"""The fpdf2 document under a `layout.Sheet`: A4, PDF/A-2b, its file id and footer, and how text is drawn.

Every string goes through `PDF.draw`, which keeps fpdf2's record of the page's font true after
fallback-font text, and the page count is filled in only where our footer asks for it (`PAGES`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.graphics_state import GraphicsState

from functions.receipt_render import breaks, fonts
from functions.receipt_render.shaped import Shaped

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fpdf.line_break import Fragment

    from functions.receipt_render.layout import Meta

GREY = (100, 100, 100)
# fpdf2 replaces its page-count alias (`{nb}` by default) in every string drawn, user text included.
# Ours starts with a private-use character, which no document field may hold (`fields.py`) and no
# shipped font has, so `layout.Sheet.clean` turns it into U+FFFD in anything else (an issuer line);
# three characters long, like `{nb}` it reserves the width of "000".
PAGES = "\ue000nb"
_STATE = operator.attrgetter(*(field.name for field in dataclasses.fields(GraphicsState)))
_FOOT_LINE, _FOOT_LINES, _FOOT_GAP, _FOOT_SMALLEST = 3.5, 3, 2.0, 5.0  # mm, lines, mm, pt


class PDF(FPDF):
    """One document's A4 PDF/A-2b pages: its file id, its footer, and `draw`, the one way text is drawn."""

    def __init__(self, meta: Meta, page_label: str) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance="PDF/A-2B")
        self._meta = meta
        self._page_label = page_label
        self._widths: dict[tuple[str, str, float, str], float] = {}
        self._fallbacks: dict[tuple[str, str, int], str | None] = {}
        self._shaped = Shaped(self)
        self.alias_nb_pages(PAGES)

    def file_id(self) -> str:
        """The PDF `/ID`: from the document id, never random, so the same document gives the same bytes."""
        digest = hashlib.md5(self._meta.document_id.encode(), usedforsecurity=False).hexdigest().upper()
        return f"<{digest}><{digest}>"

    def footer(self) -> None:
        """Document id, template and version on the left; "page x of y" on the right, never under the id.

        The id takes the width "page x of y" leaves (with room for three-digit page counts) and wraps
        onto lines above the page number's; an id that would need more than `_FOOT_LINES` lines is
        drawn smaller. A short id is one line, where it always was.
        """
        self.set_font(fonts.MAIN.name, size=8)
        self.set_text_color(*GREY)
        tag = f"{self._meta.document_id} · {self._meta.template} v{self._meta.template_version}"
        widest = self._page_label.format(page=self.page_no(), pages="000")
        column = self.epw - self.width(widest) - 2 * self.c_margin - _FOOT_GAP
        lines = self.lines(tag, column)
        while len(lines) > _FOOT_LINES and self.font_size_pt > _FOOT_SMALLEST:
            self.set_font_size(self.font_size_pt - 0.5)
            lines = self.lines(tag, column)
        top = self.h - 15 - (len(lines) - 1) * _FOOT_LINE
        for index, line in enumerate(lines):
            self.set_xy(self.l_margin, top + index * _FOOT_LINE)
            self.draw(column, 8, line)
        self.set_font_size(8)
        self.draw(0, 8, self._page_label.format(page=self.page_no(), pages=self.str_alias_nb_pages), Align.R)

    def width(self, text: str) -> float:
        """How wide `text` is in the current font (mm), as fpdf2 measures it.

        Without text shaping that is the sum of each character's advance in the font that draws it
        (the current font, else the fallback fpdf2 picks), summed here: fpdf2 builds a fragment, with
        a copy of the graphics state, at each change of font, which mixed CJK text makes at nearly
        every character. With shaping (kerning, joining) each run of one font is shaped as fpdf2 shapes
        it, once per document (`shaped.Shaped`); for the page-count alias, fpdf2 measures.
        """
        font = self.current_font
        if self.text_shaping and self._shaped.applies(text):
            return self._shaped.width(text)
        if not isinstance(font, TTFFont) or self.text_shaping or PAGES in text:
            return float(self.get_string_width(text))
        style = ("B" if "B" in self.font_style else "") + ("I" if "I" in self.font_style else "")
        units = 0.0
        for char in text:
            code, drawn = ord(char), font
            if code not in font.cmap and (fallback := self.get_fallback_font(char, style)) is not None:
                chosen = self.fonts[fallback]
                drawn = chosen if isinstance(chosen, TTFFont) else font  # every font here is TrueType
            units += drawn.cw[code]
        return units * self.font_size_pt * 0.001 / self.k

    def lines(self, text: str, width: float) -> list[str]:
        """`text` as the lines of a cell `width` wide in the current font (`breaks.wrap`).

        Broken at spaces, or inside a word longer than a line; nothing is dropped but spaces at breaks.
        """
        room = width - 2 * self.c_margin
        if fonts.in_main(text) and self.width(text) <= room:
            return [text]
        return breaks.wrap(text, room, self._measured)

    def _measured(self, text: str) -> float:
        """`width`, remembered per font, style and size for the document (words recur from line to line)."""
        key = (self.font_family, self.font_style, self.font_size_pt, text)
        known = self._widths.get(key)
        if known is None:
            known = self._widths[key] = self.width(text)
        return known

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Fragment]:  # noqa: FBT001 - fpdf2's
        """fpdf2's fragments of `text`; those of plain shaped text take their widths from `shaped.Shaped`."""
        fragments = super()._preload_bidirectional_text(text, markdown)
        if not markdown and self._shaped.applies(text):
            self._shaped.adopt(fragments)
        return fragments

    def _get_current_graphics_state(self) -> GraphicsState:
        """fpdf2's copy of its graphics state, one per fragment drawn: the same, without `copy.copy`."""
        state: GraphicsState = self.__dict__["_GraphicsStateMixin__statestack"][-1]
        copied = GraphicsState(*_STATE(state))
        if copied.text_shaping is not None:
            copied.text_shaping = copied.text_shaping.copy()
        return copied

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """fpdf2's choice of fallback font for `char`, remembered per style (fpdf2 scans every font per call).

        fpdf2 asks for each character it draws or measures outside the current font; with a few dozen
        CJK slices registered, the scan was most of a long CJK document's cost. The fallback list is
        set once, when the fonts are installed, so the answer for a character never changes.
        """
        key = (char, style, len(self._fallback_font_ids))
        if key not in self._fallbacks:
            self._fallbacks[key] = super().get_fallback_font(char, style)
        return self._fallbacks[key]

    def draw(
        self, w: float, h: float, text: str, align: Align = Align.L, *, new_x: XPos = XPos.RIGHT,
        new_y: YPos = YPos.TOP,
    ) -> None:  # fmt: skip
        """`cell`, leaving fpdf2's record of the page's font true after a line that used a fallback font.

        fpdf2 2.8.9 (upstream issue #1772, PR #1775): when a line starts with fallback-font text and the
        current font is not yet set on the page, fpdf2 sets it *inside* the line's `q … Q` and records it
        as set. After `Q` the page's font is the one before again, so the next line would show its glyph
        codes with that font: garbage. Marking the font as not set makes fpdf2 set it again, outside any
        `q … Q`, before the next line (one `BT /Fn size Tf ET`; Latin-only lines are unaffected).
        """
        self.cell(w, h, text, align=align, new_x=new_x, new_y=new_y)
        if not fonts.in_main(text):
            self.current_font_is_set_on_page = False
