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

from fpdf.enums import Align, MethodReturnValue, XPos, YPos

from functions.receipt_render import embed, fonts
from functions.receipt_render.canvas import GREY, PDF

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from functions.receipt_render.words import Words


_LINE, _PAD, _BOTTOM = 6.0, 1.0, 20.0  # table line height, cell padding, bottom margin (mm)
_NUMBER_COLUMN = 28.0  # width of each number column (mm); the description takes the rest
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
        """Who issues the document, small and right-aligned at the top of the first page."""
        pdf = self.pdf
        pdf.set_font(fonts.MAIN.name, "", 8.5)
        pdf.set_text_color(*GREY)
        for line in lines:
            pdf.set_x(110)
            pdf.draw(0, 4.2, self.clean(line), Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.set_y(pdf.t_margin)

    def clean(self, text: str) -> str:
        """`text` with characters that no shipped font has replaced by U+FFFD (our page-count alias too)."""
        return fonts.clean(text, self._need)

    def title(self, text: str) -> None:
        """The document's heading."""
        self.pdf.set_font(fonts.MAIN.name, "B", 20)
        self.pdf.draw(0, 12, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(2)

    def block(self, lines: Sequence[str], *, bold_first: bool = False) -> None:
        """A block of short lines (an address), the first one bold if asked."""
        for index, line in enumerate(lines):
            self.pdf.set_font(fonts.MAIN.name, "B" if bold_first and index == 0 else "", 10)
            self.pdf.draw(0, 5, self.clean(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(4)

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Label and value pairs, one per line (document number, dates, payment method)."""
        for label, value in pairs:
            self.pdf.set_font(fonts.MAIN.name, "", 10)
            self.pdf.set_text_color(*GREY)
            self.pdf.draw(40, 6, self.clean(label))
            self.pdf.set_text_color(0, 0, 0)
            self.pdf.draw(0, 6, self.clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(4)

    def items(self, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        """The lines table: description, then right-aligned numbers; the heading repeats on every page.

        Drawn row by row with plain cells (fpdf2's `table()` lays out every cell with `multi_cell`, ten
        times the cost of a page here); only a description wider than its column is wrapped.
        """
        pdf = self.pdf
        numbers = len(headings) - 1
        widths = (pdf.epw - _NUMBER_COLUMN * numbers, *(_NUMBER_COLUMN,) * numbers)
        pdf.set_auto_page_break(auto=False)
        self._row([self.clean(h) for h in headings], widths, bold=True)
        for row in rows:
            cells = [self.clean(cell) for cell in row]
            lines = self._wrapped(cells[0], widths[0] - 2 * _PAD)
            if pdf.get_y() + len(lines) * _LINE + 2 * _PAD > pdf.h - _BOTTOM:
                pdf.add_page()
                self._row([self.clean(h) for h in headings], widths, bold=True)
            self._row([*lines, *cells[1:]], widths, lines=len(lines))
        pdf.set_auto_page_break(auto=True, margin=_BOTTOM)
        pdf.ln(4)

    def _row(
        self, cells: Sequence[str], widths: Sequence[float], *, bold: bool = False, lines: int = 1
    ) -> None:
        """One table row: `lines` description lines, then one cell per number column, a rule below."""
        pdf = self.pdf
        pdf.set_font(fonts.MAIN.name, "B" if bold else "", 9.5)
        left, top = pdf.l_margin, pdf.get_y()
        for index in range(lines):
            pdf.set_xy(left + _PAD, top + _PAD + index * _LINE)
            pdf.draw(widths[0] - 2 * _PAD, _LINE, cells[index])
        x = left + widths[0]
        for width, text in zip(widths[1:], cells[lines:], strict=True):
            pdf.set_xy(x + _PAD, top + _PAD)
            pdf.draw(width - 2 * _PAD, _LINE, text, Align.R)
            x += width
        bottom = top + lines * _LINE + 2 * _PAD
        pdf.set_line_width(0.3 if bold else 0.1)
        pdf.line(left, bottom, left + sum(widths), bottom)
        pdf.set_xy(left, bottom)

    def _wrapped(self, text: str, width: float) -> list[str]:
        self.pdf.set_font(fonts.MAIN.name, "", 9.5)
        if fonts.in_main(text) and self.pdf.get_string_width(text) <= width:
            return [text]
        lines = self.pdf.multi_cell(width, _LINE, text, dry_run=True, output=MethodReturnValue.LINES)
        if not isinstance(lines, list):
            raise TypeError(f"multi_cell returned {type(lines).__name__}, not its lines")
        return [str(line) for line in lines] or [""]

    def totals(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Right-aligned sums, the last one (the total) in bold."""
        for index, (label, value) in enumerate(pairs):
            last = index == len(pairs) - 1
            self.pdf.set_font(fonts.MAIN.name, "B" if last else "", 11 if last else 10)
            self.pdf.draw(134, 7, self.clean(label), Align.R)
            self.pdf.draw(0, 7, self.clean(value), Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

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
