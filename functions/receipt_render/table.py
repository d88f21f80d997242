"""A document's lines table: descriptions wrapped in the first column, numbers right-aligned after it.

Each number column is as wide as the widest text drawn in it (its heading included), at least
`_NUMBER_COLUMN`, so the largest quantity and amounts the limits allow never run into the next column;
the description takes the rest. Should the numbers leave less than `_DESCRIPTION` to the description,
the whole table is drawn smaller. Drawn row by row with plain cells (fpdf2's `table()` lays out every
cell with `multi_cell`, ten times the cost of a page here); the heading repeats on every page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fpdf.enums import Align

from functions.receipt_render import fonts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from functions.receipt_render.canvas import PDF

_LINE, _PAD = 6.0, 1.0  # line height, cell padding (mm)
_NUMBER_COLUMN = 28.0  # the narrowest number column (mm)
_DESCRIPTION = 50.0  # the narrowest description column (mm)
_SIZE = 9.5  # font size (pt)
_SLACK = 1.01  # room for shaping's widths, which may differ from the glyphs' sum by a hair


class Table:
    """The lines table of one document: its headings and rows, already cleaned for the fonts."""

    def __init__(self, pdf: PDF, headings: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.pdf, self.headings, self.rows = pdf, headings, rows
        self.size = _SIZE
        self.widths = self._widths()

    def _widths(self) -> tuple[float, ...]:
        """The description's width, then each number column's: its widest text, padding and margins."""
        pdf = self.pdf
        numbers = len(self.headings) - 1
        widest = [0.0] * numbers
        for style, rows in (("B", [self.headings]), ("", self.rows)):
            pdf.set_font(fonts.MAIN.name, style, self.size)
            for column in range(numbers):
                for text in {row[column + 1] for row in rows}:
                    widest[column] = max(widest[column], pdf.width(text) * _SLACK)
        padding = 2 * (_PAD + pdf.c_margin)
        room = pdf.epw - _DESCRIPTION - numbers * padding
        if sum(widest) > room:  # even the limits' amounts fit; a smaller font if a locale writes them longer
            scale = room / sum(widest)
            self.size = _SIZE * scale
            widest = [width * scale for width in widest]
        columns = [max(_NUMBER_COLUMN, width + padding) for width in widest]
        while sum(columns) > pdf.epw - _DESCRIPTION:  # the minimum widths alone leave too little
            columns = [
                max(width + padding, column - 1) for width, column in zip(widest, columns, strict=True)
            ]
        return (pdf.epw - sum(columns), *columns)

    def draw(self, bottom: float) -> None:
        """The table from the current position, a new page (and heading) when a row would pass `bottom`."""
        pdf = self.pdf
        automatic = pdf.auto_page_break
        pdf.set_auto_page_break(auto=False)
        self._row(self.headings, bold=True)
        for cells in self.rows:
            pdf.set_font(fonts.MAIN.name, "", self.size)
            lines = pdf.lines(cells[0], self.widths[0] - 2 * _PAD)
            if pdf.get_y() + len(lines) * _LINE + 2 * _PAD > pdf.h - bottom:
                pdf.add_page()
                self._row(self.headings, bold=True)
            self._row([*lines, *cells[1:]], lines=len(lines))
        pdf.set_auto_page_break(auto=automatic, margin=bottom)
        pdf.ln(4)

    def _row(self, cells: Sequence[str], *, bold: bool = False, lines: int = 1) -> None:
        """One table row: `lines` description lines, then one cell per number column, a rule below."""
        pdf, widths = self.pdf, self.widths
        pdf.set_font(fonts.MAIN.name, "B" if bold else "", self.size)
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
