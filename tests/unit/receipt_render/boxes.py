"""Where a PDF page's text is drawn: the ink box of every text object, from its glyphs' outlines.

`drawn` says which text each `BT`…`ET` object shows; this says where its ink lies. The content stream
is walked like a viewer walks it (`q`/`Q`, `Tf`, `Td`, `Tm`, `Tj` and `TJ` with its adjustments), each
glyph is placed with the widths the PDF declares (`/W`), and its outline's bounding box is read from
the embedded font file (Identity CID-to-GID maps, as `embed.Producer` writes them). Boxes are in
millimetres from the page's top-left corner, like fpdf2's coordinates.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from fontTools import ttLib
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from tests.unit.receipt_render.drawn import _cmap, _decode, _string, operations, two_byte_codes

if TYPE_CHECKING:
    from collections.abc import Iterable

MM = 25.4 / 72  # millimetres per point
_NUMERIC = frozenset(b"+-.0123456789")
# the operators the walk follows or refuses; any other (paths, colours, images) leaves text alone
_MEASURED = frozenset(
    (
        b"q",
        b"Q",
        b"Tf",
        b"BT",
        b"Td",
        b"Tm",
        b"Tc",
        b"Tw",
        b"Tz",
        b"TL",
        b"T*",
        b"'",
        b'"',
        b"Ts",
        b"Tj",
        b"TJ",
        b"ET",
    )
)


@dataclass(frozen=True, slots=True)
class Box:
    """The ink of one text object: its decoded text and its extent (mm, from the top-left corner)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, slack: float = 0.05) -> bool:
        """True when the two boxes share an area wider and taller than `slack` mm."""
        wide = min(self.right, other.right) - max(self.left, other.left)
        tall = min(self.bottom, other.bottom) - max(self.top, other.top)
        return wide > slack and tall > slack


class _Font:
    """A Type0 font of the page: widths per CID, glyph ink boxes per GID (= CID), and its ToUnicode."""

    def __init__(self, font: DictionaryObject) -> None:
        cid = cast("DictionaryObject", cast("ArrayObject", font["/DescendantFonts"])[0].get_object())
        self.default = float(cast("float", cid.get("/DW", 1000)))
        self.widths = _widths(cast("ArrayObject", cid.get("/W", ArrayObject())))
        descriptor = cast("DictionaryObject", cid["/FontDescriptor"].get_object())
        data = cast("StreamObject", descriptor["/FontFile2"].get_object()).get_data()
        self.ink = _ink(data)
        self.codes = _cmap(font)

    def width(self, code: int) -> float:
        return self.widths.get(code, self.default) / 1000


def _widths(array: Iterable[object]) -> dict[int, float]:
    """The `/W` array as CID -> width (both forms: `c [w1 w2 …]` and `c_first c_last w`)."""
    items = [item.get_object() if hasattr(item, "get_object") else item for item in array]
    widths: dict[int, float] = {}
    index = 0
    while index < len(items):
        first, following = int(cast("int", items[index])), items[index + 1]
        if isinstance(following, list):
            widths.update({first + n: float(w) for n, w in enumerate(following)})
            index += 2
        else:
            last, width = int(cast("int", following)), float(cast("float", items[index + 2]))
            widths.update(dict.fromkeys(range(first, last + 1), width))
            index += 3
    return widths


@functools.lru_cache(maxsize=64)
def _ink(data: bytes) -> dict[int, tuple[float, float, float, float]]:
    """Each glyph's outline bounds (xMin, yMin, xMax, yMax) in em, by glyph id; blank glyphs left out."""
    font = ttLib.TTFont(io.BytesIO(data))
    em = font["head"].unitsPerEm
    glyf = font["glyf"]
    bounds = {}
    for gid, name in enumerate(font.getGlyphOrder()):
        glyph = glyf[name]
        if glyph.numberOfContours != 0 and hasattr(glyph, "xMin"):
            bounds[gid] = (glyph.xMin / em, glyph.yMin / em, glyph.xMax / em, glyph.yMax / em)
    return bounds


def page_boxes(pdf: bytes) -> list[list[Box]]:
    """Per page, the ink box of every text object that draws any ink, in drawing order."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = []
    for page in reader.pages:
        resources = cast("DictionaryObject", cast("DictionaryObject", page["/Resources"])["/Font"])
        fonts = {
            str(name): _Font(cast("DictionaryObject", ref.get_object())) for name, ref in resources.items()
        }
        contents = page.get_contents()
        height = float(page.mediabox.height)
        pages.append(_walk(contents.get_data() if contents is not None else b"", fonts, height))
    return pages


class _Walker:
    """One content stream's text state: the font and size in effect, the text position, the ink so far."""

    def __init__(self, fonts: dict[str, _Font], height: float) -> None:
        self.fonts, self.height = fonts, height
        self.stack: list[tuple[_Font | None, float]] = []
        self.font: _Font | None = None
        self.size = self.x = self.line_x = self.line_y = 0.0
        self.ink: list[tuple[float, float, float, float]] = []
        self.text: list[str] = []
        self.boxes: list[Box] = []

    def step(self, operands: list[bytes | list[bytes]], operator: bytes) -> None:
        if operator not in _MEASURED:
            return
        numbers = [
            float(value) for value in operands if not isinstance(value, list) and value[0] in _NUMERIC
        ][-6:]
        if operator == b"q":
            self.stack.append((self.font, self.size))
        elif operator == b"Q":
            self.font, self.size = self.stack.pop()
        elif operator == b"Tf":
            self.font, self.size = self.fonts[bytes(cast("bytes", operands[0])).decode()], numbers[-1]
        elif operator in {b"BT", b"Td", b"Tm"}:
            self.move(operator, numbers)
        elif operator in {b"Tc", b"Tw", b"Tz", b"TL", b"T*", b"'", b'"', b"Ts"}:
            raise NotImplementedError(f"text operator {operator!r} is not measured")
        elif operator in {b"Tj", b"TJ"}:
            self.show(operands[0] if isinstance(operands[0], list) else [operands[0]])
        elif operator == b"ET":
            self.end()

    def move(self, operator: bytes, numbers: list[float]) -> None:
        if operator == b"BT":
            self.x = self.line_x = self.line_y = 0.0
        elif operator == b"Td":
            self.line_x, self.line_y = self.line_x + numbers[0], self.line_y + numbers[1]
            self.x = self.line_x
        else:
            if numbers[:4] != [1, 0, 0, 1]:
                raise NotImplementedError(f"text matrix {numbers}")
            self.x = self.line_x = numbers[4]
            self.line_y = numbers[5]

    def show(self, parts: list[bytes]) -> None:
        font, size = self.font, self.size
        if font is None:
            raise ValueError("text shown before a font is selected")
        for part in parts:
            if part[:1] not in {b"(", b"<"}:
                self.x -= float(part) / 1000 * size
                continue
            raw = _string(part)
            self.text.append(_decode(raw, font.codes))
            for code in two_byte_codes(raw):
                bounds = font.ink.get(code)
                if bounds is not None:
                    x0, y0, x1, y1 = bounds
                    y = self.line_y
                    self.ink.append((self.x + x0 * size, y + y0 * size, self.x + x1 * size, y + y1 * size))
                self.x += font.width(code) * size

    def end(self) -> None:
        if self.ink:
            left, bottom = min(b[0] for b in self.ink), min(b[1] for b in self.ink)
            right, top = max(b[2] for b in self.ink), max(b[3] for b in self.ink)
            box = Box(
                "".join(self.text),
                left * MM,
                (self.height - top) * MM,
                right * MM,
                (self.height - bottom) * MM,
            )
            self.boxes.append(box)
        self.ink, self.text = [], []


def _walk(content: bytes, fonts: dict[str, _Font], height: float) -> list[Box]:
    walker = _Walker(fonts, height)
    for operands, operator in operations(content):
        walker.step(operands, operator)
    return walker.boxes


def overlapping(boxes: list[Box]) -> list[tuple[Box, Box]]:
    """Every pair of boxes whose ink areas overlap."""
    ordered = sorted(boxes, key=lambda box: box.left)
    pairs = []
    for index, box in enumerate(ordered):
        for other in ordered[index + 1 :]:
            if other.left >= box.right:
                break
            if box.overlaps(other):
                pairs.append((box, other))
    return pairs
