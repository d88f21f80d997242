"""ReportLab's canvas drawing the receipt and invoice that functions/receipt_render draws, for the bench.

The same A4 geometry, the same shipped NotoSans files (ReportLab embeds a subset of them by default),
the same strings formatted by the same `Words` (Babel): title, customer block, fields, the lines table
with its header repeated on every page, totals and a "Page x of y" footer. Pages are numbered the
usual ReportLab way: the canvas keeps each page until `save` knows how many there are.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from functions.receipt_render import fonts, slices
from functions.receipt_render.words import Priced, Words

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from functions.receipt_render.invoice import Order
    from functions.receipt_render.receipt import Receipt

WIDTH, HEIGHT = A4
MARGIN, BOTTOM, WIDE = 18 * mm, HEIGHT - 20 * mm, WIDTH - 36 * mm
REGULAR, BOLD = "BenchNotoSans", "BenchNotoSans-Bold"
GREY = (100 / 255, 100 / 255, 100 / 255)


def register() -> None:
    """Parse the shipped NotoSans files once per process, as `fonts.warm()` does for fpdf2."""
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(slices.FONT_DIR / fonts.MAIN.regular)))
        pdfmetrics.registerFont(TTFont(BOLD, str(slices.FONT_DIR / fonts.MAIN.bold)))


class _Canvas(canvas.Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """A canvas that draws the footer, "Page x of y" included, on every page when it is saved."""

    def __init__(self, buffer: io.BytesIO, tag: str, label: str) -> None:
        super().__init__(buffer, pagesize=A4, invariant=True)
        self._pages: list[dict[str, Any]] = []
        self._tag, self._label = tag, label

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        pages = self._pages
        for number, state in enumerate(pages, 1):
            self.__dict__.update(state)
            self.setFont(REGULAR, 8)
            self.setFillColorRGB(*GREY)
            baseline = 11 * mm - 0.3 * 8  # fpdf2's footer: a cell 8 mm high, 15 mm above the bottom edge
            self.drawString(MARGIN, baseline, self._tag)
            self.drawRightString(MARGIN + WIDE, baseline, self._label.format(page=number, pages=len(pages)))
            super().showPage()
        super().save()


class Sheet:
    """The drawing calls of `layout.Sheet`, on a ReportLab canvas; `y` runs down from the top edge."""

    def __init__(
        self, document_id: str, title: str, template: str, words: Words, issuer: Sequence[str]
    ) -> None:
        self._buffer = io.BytesIO()
        self.c = _Canvas(self._buffer, f"{document_id} · {template} v1", words["page"])
        self.c.setTitle(title)
        self.c.setSubject(f"{template} v1")
        self.c.setKeywords(f"template={template} template_version=1")
        self.c.setCreator(f"Bindery {template} v1")
        self.y = MARGIN
        self.c.setFillColorRGB(*GREY)
        for line in issuer:  # small, right-aligned at the top of the first page
            self._text(MARGIN + WIDE, 4.2 * mm, line, size=8.5, right=True)
            self.y += 4.2 * mm
        self.c.setFillColorRGB(0, 0, 0)
        self.y = MARGIN

    def _room(self, height: float) -> None:
        if self.y + height > BOTTOM:
            self.c.showPage()
            self.y = MARGIN

    def _text(self, x: float, height: float, text: str, *, font: str = REGULAR, size: float = 10,
              right: bool = False) -> None:  # fmt: skip
        self.c.setFont(font, size)
        baseline = HEIGHT - (self.y + height / 2) - 0.3 * size
        (self.c.drawRightString if right else self.c.drawString)(x, baseline, text)

    def title(self, text: str) -> None:
        """The document's heading."""
        self._text(MARGIN, 12 * mm, text, font=BOLD, size=20)
        self.y += 14 * mm

    def block(self, lines: Sequence[str], *, bold_first: bool = False) -> None:
        """Short lines, the first one bold if asked."""
        for index, line in enumerate(lines):
            self._room(5 * mm)
            self._text(MARGIN, 5 * mm, line, font=BOLD if bold_first and index == 0 else REGULAR)
            self.y += 5 * mm
        self.y += 4 * mm

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Grey labels and black values, one pair a line."""
        for label, value in pairs:
            self._room(6 * mm)
            self.c.setFillColorRGB(*GREY)
            self._text(MARGIN, 6 * mm, label)
            self.c.setFillColorRGB(0, 0, 0)
            self._text(MARGIN + 40 * mm, 6 * mm, value)
            self.y += 6 * mm
        self.y += 4 * mm

    def items(self, headings: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
        """The lines table, a rule under every row, the heading again at the top of every page."""
        widths = [WIDE * share / 182 for share in (86, 32, 32, 32)]
        height = 8 * mm

        def row(cells: Sequence[str], font: str) -> None:
            x = MARGIN
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
                at = x + width - mm if index else x + mm
                self._text(at, height, cell, font=font, size=9.5, right=index > 0)
                x += width
            self.y += height
            self.c.line(MARGIN, HEIGHT - self.y, MARGIN + WIDE, HEIGHT - self.y)

        row(headings, BOLD)
        for cells in rows:
            if self.y + height > BOTTOM:
                self.c.showPage()
                self.y = MARGIN
                row(headings, BOLD)
            row(cells, REGULAR)
        self.y += 4 * mm

    def totals(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Right-aligned sums, the last one bold."""
        for index, (label, value) in enumerate(pairs):
            font, size = (BOLD, 11) if index == len(pairs) - 1 else (REGULAR, 10)
            self._room(7 * mm)
            self._text(MARGIN + 134 * mm, 7 * mm, label, font=font, size=size, right=True)
            self._text(MARGIN + WIDE, 7 * mm, value, font=font, size=size, right=True)
            self.y += 7 * mm

    def output(self) -> bytes:
        """The finished PDF."""
        self.c.showPage()
        self.c.save()
        return self._buffer.getvalue()


def _finish(sheet: Sheet, words: Words, priced: Priced, total_label: str) -> None:
    sheet.items(words.line_headings(), priced.rows(words))
    sheet.totals(priced.sums(words, total_label))


def receipt_pdf(receipt: Receipt, issuer: Sequence[str] = ()) -> bytes:
    """The receipt that `receipt.render` draws, drawn by ReportLab."""
    details, words = receipt.details, Words(receipt.locale)
    title = f"{words['receipt']} {details.receipt_number}"
    sheet = Sheet(receipt.receipt_id, title, "receipt", words, issuer)
    sheet.title(words["receipt"])
    sheet.block((details.customer.name, *details.customer.address), bold_first=True)
    paid_with = [(words["paid_with"], details.payment_method)] if details.payment_method else []
    sheet.fields([(words["receipt_number"], details.receipt_number),
                  (words["paid_on"], words.date(details.paid_at)), *paid_with])  # fmt: skip
    _finish(sheet, words, Priced(details.lines, details.currency, details.tax_rate), words["total_paid"])
    sheet.block(["", words["thanks"]])
    return sheet.output()


def invoice_pdf(order: Order, issuer: Sequence[str] = ()) -> bytes:
    """The invoice that `invoice.render` draws, drawn by ReportLab."""
    words = Words(order.locale)
    title = f"{words['invoice']} {order.invoice_number}"
    sheet = Sheet(order.invoice_number, title, "invoice", words, issuer)
    sheet.title(title)
    sheet.fields([(words["bill_to"], "")])
    sheet.block((order.customer.name, *order.customer.address), bold_first=True)
    due = [(words["due"], words.date(order.due_at))] if order.due_at else []
    sheet.fields([(words["invoice_number"], order.invoice_number), (words["order"], order.order_id),
                  (words["issued"], words.date(order.issued_at)), *due])  # fmt: skip
    _finish(sheet, words, Priced(order.lines, order.currency, order.tax_rate), words["total"])
    return sheet.output()
