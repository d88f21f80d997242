"""Layout primitives shared by the document pipelines: a deterministic A4 sheet and what is drawn on it.

A `Sheet` is told every string it will draw before it draws (fonts and shaping are chosen from
them), is PDF/A-2b, carries its template and version in the PDF metadata, numbers its pages
"x of y", and repeats the table header on every page. The same `Meta` and drawing calls give the
same bytes: the creation date and the file identifier come from the document, never the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fpdf.enums import Align, XPos, YPos

from functions.receipt_render import embed, fonts
from functions.receipt_render.canvas import GREY, PDF
from functions.receipt_render.table import Table

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from functions.receipt_render.words import Words


_BOTTOM, _GAP = 20.0, 1.0  # bottom margin, room between neighbours (mm)
_ISSUER_X, _LABEL = 110.0, 40.0  # the issuer column's left, the field labels' width (mm)
_SUMS_LABELS, _SUMS = 134.0, 40.0  # the sums' labels (mm) and their values, at their narrowest
_XMP_DATES = re.compile(rb'(xmp:(?:ModifyDate|MetadataDate)=")([0-9T:+-]{25})(")')


@dataclass(frozen=True, slots=True)
class Meta:
    """What identifies a document: it decides the file id, the dates and the metadata."""

    document_id: str
    title: str
    template: str
    template_version: int
    created: datetime
    locale: str


class Sheet:
    """One document being drawn: fonts chosen from `texts`, metadata from `meta`."""

    def __init__(self, meta: Meta, words: Words, texts: Iterable[str], issuer: Sequence[str] = ()) -> None:
        self._need = fonts.needs([*texts, *issuer, *words.all(), meta.title, meta.document_id])
        self.pdf = PDF(meta, words["page"])
        self._created = _utc(meta.created)
        pdf = self.pdf
        fonts.install(pdf, self._need)
        pdf.set_creation_date(self._created)
        pdf.set_title(self.clean(meta.title))
        pdf.set_subject(f"{meta.template} v{meta.template_version}")
        pdf.set_keywords(f"template={meta.template} template_version={meta.template_version}")
        pdf.set_creator(f"Bindery {meta.template} v{meta.template_version}")
        pdf.set_producer("Bindery")
        pdf.set_lang(meta.locale)
        pdf.set_auto_page_break(auto=True, margin=_BOTTOM)
        pdf.set_margins(18, 18, 18)
        pdf.add_page()
        self._issuer(issuer)

    def _issuer(self, lines: Sequence[str]) -> None:
        """Who issues the document, small and right-aligned at the top right of the first page, wrapped."""
        pdf = self.pdf
        pdf.set_font(fonts.MAIN.name, "", 8.5)
        pdf.set_text_color(*GREY)
        for line in lines:
            for part in pdf.lines(self.clean(line), pdf.w - pdf.r_margin - _ISSUER_X):
                pdf.set_x(_ISSUER_X)
                pdf.draw(0, 4.2, part, Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        self._below_issuer = pdf.get_y() if lines else pdf.t_margin
        pdf.set_y(pdf.t_margin)

    def clean(self, text: str) -> str:
        """`text` with characters that no shipped font has replaced by U+FFFD (our page-count alias too)."""
        return fonts.clean(text, self._need)

    def title(self, text: str) -> None:
        """The document's heading, wrapped left of the issuer's lines; what follows starts below both."""
        pdf = self.pdf
        pdf.set_font(fonts.MAIN.name, "B", 20)
        right = _ISSUER_X - _GAP if self._below_issuer > pdf.t_margin else pdf.w - pdf.r_margin
        width = right - pdf.l_margin
        lines = pdf.lines(self.clean(text), width)
        for line in lines:
            pdf.draw(width, 12 if len(lines) == 1 else 9, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        pdf.set_y(max(pdf.get_y(), self._below_issuer + _GAP))

    def block(self, lines: Sequence[str], *, bold_first: bool = False) -> None:
        """A block of lines (an address), the first one bold if asked; a line wider than the page wraps."""
        for index, line in enumerate(lines):
            self.pdf.set_font(fonts.MAIN.name, "B" if bold_first and index == 0 else "", 10)
            for part in self.pdf.lines(self.clean(line), self.pdf.epw):
                self.pdf.draw(0, 5, part, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(4)

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label and value pairs, one per line (document number, dates, payment method); values wrap."""
        pdf = self.pdf
        for label, value in pairs:
            pdf.set_font(fonts.MAIN.name, "", 10)
            pdf.set_text_color(*GREY)
            pdf.draw(_LABEL, 6, self.clean(label))
            pdf.set_text_color(0, 0, 0)
            for part in pdf.lines(self.clean(value), pdf.epw - _LABEL):
                pdf.set_x(pdf.l_margin + _LABEL)
                pdf.draw(0, 6, part, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)

    def items(self, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        """The lines table (`table.Table`): wrapped descriptions, number columns as wide as their numbers."""
        cells = [[self.clean(cell) for cell in row] for row in rows]
        Table(self.pdf, [self.clean(h) for h in headings], cells).draw(_BOTTOM)

    def totals(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Right-aligned sums, the last one (the total) in bold; the values' column fits the widest."""
        pdf, column = self.pdf, _SUMS
        styles = [("", 10.0)] * (len(pairs) - 1) + [("B", 11.0)]
        for (style, size), (_, value) in zip(styles, pairs, strict=True):
            pdf.set_font(fonts.MAIN.name, style, size)
            column = max(column, pdf.width(self.clean(value)) * 1.01 + 2 * pdf.c_margin)
        for (style, size), (label, value) in zip(styles, pairs, strict=True):
            pdf.set_font(fonts.MAIN.name, style, size)
            pdf.draw(_SUMS_LABELS - (column - _SUMS), 7, self.clean(label), Align.R)
            pdf.draw(0, 7, self.clean(value), Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def output(self) -> bytes:
        """The finished PDF, with the XMP modification dates set to the creation date.

        Fonts are embedded by `embed.Producer` (glyphs copied from fonts parsed once). fpdf2 stamps
        `xmp:ModifyDate` with the wall clock; the replacement has the same length, so the
        cross-reference offsets stay valid.
        """
        raw = bytes(self.pdf.output(output_producer_class=embed.Producer))
        created = self._created.isoformat(timespec="seconds").encode()
        stamped = _XMP_DATES.sub(lambda m: m.group(1) + created + m.group(3), raw)
        if len(stamped) != len(raw):
            raise RuntimeError("the XMP dates changed length; the PDF would be corrupt")
        return stamped

    @property
    def pages(self) -> int:
        """Pages drawn so far."""
        return self.pdf.page_no()


def _utc(when: datetime) -> datetime:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
