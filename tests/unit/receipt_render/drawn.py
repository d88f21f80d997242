"""What a PDF page really draws: every text object's glyph codes, decoded with the font in effect.

Text extraction guesses; this walks the page's content stream like a viewer does. It keeps the
graphics-state stack (`q`/`Q`, which also saves and restores the font set by `Tf`), and decodes each
`Tj`/`TJ` string with the ToUnicode CMap of the font in effect at that point. A glyph drawn with the
wrong font decodes to other characters (or none), so a caller can compare each text object (`BT`…`ET`,
one cell) with the string the document meant to draw there: `Recorder` records those strings.
"""

from __future__ import annotations

import array
import io
import re
import sys
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from fpdf import FPDF
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pytest

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_BLOCK = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.DOTALL)
_SPACES = {"\xa0": " ", "\u202f": " "}  # fpdf2 may draw the no-break spaces as plain ones
_TOKEN = re.compile(
    rb"\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|/[^\s/\[\]()<>]+|[-+]?(?:\d+\.?\d*|\.\d+)|[\[\]]|[A-Za-z'\"*]+",
    re.DOTALL,
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)


def _cmap(font: DictionaryObject) -> dict[int, str]:
    """A font's ToUnicode CMap: two-byte code -> text (bfchar and bfrange entries)."""
    data = cast("StreamObject", font["/ToUnicode"].get_object()).get_data()
    codes: dict[int, str] = {}
    for kind, body in _BLOCK.findall(data):
        if kind == b"bfchar":
            for code, text in _HEX.findall(body):
                codes[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
        else:
            for low, high, start in _RANGE.findall(body):
                first = int(start, 16)
                for offset in range(int(high, 16) - int(low, 16) + 1):
                    codes[int(low, 16) + offset] = chr(first + offset)
    return codes


def _decode(raw: bytes, codes: dict[int, str]) -> str:
    """Two-byte codes (Identity-H) as text; a code the font does not map becomes U+FFFF."""
    return "".join([codes.get(code, "\uffff") for code in two_byte_codes(raw)])


def two_byte_codes(raw: bytes) -> list[int]:
    """The big-endian two-byte codes of `raw`; an odd last byte is a code of its own."""
    if len(raw) % 2:
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    codes = array.array("H", raw)
    if sys.byteorder == "little":
        codes.byteswap()
    return codes.tolist()


def _string(token: bytes) -> bytes:
    """The bytes of a literal `(…)` or hex `<…>` string token."""
    if token.startswith(b"<"):
        return bytes.fromhex(re.sub(rb"\s", b"", token[1:-1]).decode())

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(unescape, token[1:-1])


def operations(content: bytes) -> Iterator[tuple[list[bytes | list[bytes]], bytes]]:
    """The (operands, operator) pairs of a content stream; a TJ array is a list of its tokens."""
    operands: list[bytes | list[bytes]] = []
    array: list[bytes] | None = None
    for token in _TOKEN.findall(content):
        if token == b"[":
            array = []
        elif token == b"]" and array is not None:
            operands.append(array)
            array = None
        elif array is not None:
            array.append(token)
        elif token[:1].isalpha() or token[:1] in b"'\"*":
            yield operands, token
            operands = []
        else:
            operands.append(token)


def text_objects(pdf: bytes) -> list[list[str]]:
    """Per page, the text each `BT`…`ET` object shows, decoded with the font in effect for each string."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = []
    for page in reader.pages:
        fonts = cast("DictionaryObject", cast("DictionaryObject", page["/Resources"])["/Font"])
        cmaps = {str(name): _cmap(cast("DictionaryObject", ref.get_object())) for name, ref in fonts.items()}
        contents = page.get_contents()
        pages.append(_walk(contents.get_data() if contents is not None else b"", cmaps))
    return pages


def _walk(content: bytes, cmaps: dict[str, dict[int, str]]) -> list[str]:
    """The text objects of one content stream, each string decoded with the font in effect for it."""
    stack: list[dict[int, str] | None] = []  # q saves the font with the rest of the graphics state
    font: dict[int, str] | None = None
    shown: list[str] = []
    current: list[str] = []
    for operands, operator in operations(content):
        if operator == b"q":
            stack.append(font)
        elif operator == b"Q":
            font = stack.pop()
        elif operator == b"Tf":
            font = cmaps[bytes(cast("bytes", operands[0])).decode()]
        elif operator == b"ET":
            shown.extend(["".join(current)] if current else [])
            current = []
        elif operator in {b"Tj", b"TJ"}:
            parts = operands[0] if isinstance(operands[0], list) else [operands[0]]
            strings = [_string(part) for part in parts if part[:1] in {b"(", b"<"}]
            # text shown before any font is selected decodes to U+FFFF, like an unmapped code
            current.extend(_decode(raw, font or {}) for raw in strings)
    return shown


class Recorder:
    """The strings a document draws, in order, recorded from `FPDF.cell` while it renders."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._pairs: list[tuple[str, str | None, bool]] = []  # (text, the page-count alias, in the footer)
        original: Callable[..., Any] = FPDF.cell

        def cell(pdf: FPDF, *args: Any, **kwargs: Any) -> Any:
            text = kwargs.get("text", args[2] if len(args) > 2 else "")  # (w, h, text)
            drawn = original(pdf, *args, **kwargs)  # a page break inside draws the footer first
            if text:
                self._pairs.append((str(text), pdf.str_alias_nb_pages, pdf.in_footer))
            return drawn

        monkeypatch.setattr(FPDF, "cell", cell)

    def expected(self, pages: int, *, footer: bool | None = None) -> list[str]:
        """The recorded strings, with the page-count alias as fpdf2 fills it in.

        Only the footers' strings when `footer` is true, only the others' when it is false.
        """
        return [
            text.replace(alias, str(pages)) if alias else text
            for text, alias, in_footer in self._pairs
            if footer is None or in_footer == footer
        ]


def shown_as(expected: str, drawn: str) -> bool:
    """Whether a text object shows `expected`: exactly, or the same characters when it is right-to-left.

    Right-to-left runs are drawn in visual order, so their characters are compared, not their order.
    """
    drawn = "".join(_SPACES.get(c, c) for c in drawn)
    expected = "".join(_SPACES.get(c, c) for c in expected)
    if drawn == expected:
        return True
    rtl = any(unicodedata.bidirectional(c) in {"R", "AL"} for c in expected)
    return rtl and Counter(drawn.replace(" ", "")) == Counter(expected.replace(" ", ""))


def mismatches(pdf: bytes, recorder: Recorder) -> list[tuple[str, str]]:
    """(meant, drawn) for every text object that does not show the string drawn there."""
    pages = text_objects(pdf)
    drawn = [text for page in pages for text in page]
    expected = recorder.expected(len(pages))
    wrong = [(e, d) for e, d in zip(expected, drawn, strict=False) if not shown_as(e, d)]
    if len(drawn) != len(expected):
        wrong.append((f"{len(expected)} strings", f"{len(drawn)} text objects"))
    return wrong
