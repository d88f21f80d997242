"""The fpdf2 document under a `layout.Sheet`: A4, PDF/A-2b, its file id and footer, and how text is drawn.

Every string goes through `PDF.draw`, which keeps fpdf2's record of the page's font true after
fallback-font text, and the page count is filled in only where our footer asks for it (`PAGES`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from functions.receipt_render import fonts

if TYPE_CHECKING:
    from functions.receipt_render.layout import Meta

GREY = (100, 100, 100)
# fpdf2 replaces its page-count alias (`{nb}` by default) in every string drawn, user text included.
# Ours starts with a private-use character, which no document field may hold (`fields.py`) and no
# shipped font has, so `layout.Sheet.clean` turns it into U+FFFD in anything else (an issuer line);
# three characters long, like `{nb}` it reserves the width of "000".
PAGES = "\ue000nb"


class PDF(FPDF):
    """One document's A4 PDF/A-2b pages: its file id, its footer, and `draw`, the one way text is drawn."""

    def __init__(self, meta: Meta, page_label: str) -> None:
        super().__init__(format="A4", unit="mm", enforce_compliance="PDF/A-2B")
        self._meta = meta
        self._page_label = page_label
        self.alias_nb_pages(PAGES)

    def file_id(self) -> str:
        """The PDF `/ID`: from the document id, never random, so the same document gives the same bytes."""
        digest = hashlib.md5(self._meta.document_id.encode(), usedforsecurity=False).hexdigest().upper()
        return f"<{digest}><{digest}>"

    def footer(self) -> None:
        """Document id, template and version on the left; "page x of y" on the right."""
        self.set_y(-15)
        self.set_font(fonts.MAIN.name, size=8)
        self.set_text_color(*GREY)
        tag = f"{self._meta.document_id} · {self._meta.template} v{self._meta.template_version}"
        self.draw(95, 8, tag)
        self.draw(0, 8, self._page_label.format(page=self.page_no(), pages=self.str_alias_nb_pages), Align.R)

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
