"""The shipped fonts: parsed once per process, then installed into each document that needs them.

fpdf2 parses a font file on `add_font` (a quarter of a second for the CJK font). A `Face` keeps the
parsed font; each document gets a shallow copy with its own `SubsetMap` and shares the rest: the
metrics, the HarfBuzz face and the fontTools object (read by shaping, never changed: documents are
written by `embed.Producer`, which copies the used glyphs from the font file parsed once by
`truetype`, instead of fpdf2's writer, which would subset the shared fontTools object in place).
This leans on fpdf2's `TTFFont` internals, so fpdf2 is pinned (`embed.PINNED`) and the tests render
the same document before and after others.

The main family covers only the *core* characters (Latin-1, Latin Extended-A, punctuation and
currency signs) of Noto Sans; other characters fall back to the full Noto Sans and the script fonts,
which a document registers only when its text needs them. The CJK font is cut into slices of 512
code points, each made on first use and kept for the process, and a document embeds only the slices
its text touches.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

from functions.receipt_render import slices, truetype
from functions.receipt_render.slices import BUCKET_BITS, CJK_FILE, FONT_DIR

if TYPE_CHECKING:
    from collections.abc import Iterable

# fontTools logs every subsetting step at INFO: ~150 lines a document under the apps' INFO logging.
logging.getLogger("fontTools").setLevel(logging.WARNING)

REPLACEMENT = "\ufffd"
CORE = frozenset(
    (
        *range(0x20, 0x7F),
        *range(0xA0, 0x180),
        *range(0x2000, 0x2070),
        *range(0x20A0, 0x20C1),
        0x2116,
        0x2122,
        0xFFFD,
    )
)


@dataclass(frozen=True, slots=True)
class Family:
    """A font family as documents name it, with the files of its two styles."""

    name: str
    regular: str
    bold: str
    shaping: bool  # needs HarfBuzz: joining scripts and right-to-left text
    core: bool = False  # only the CORE characters of the font
    bucket: int | None = None  # a slice of the CJK font: code points bucket << BUCKET_BITS and up


MAIN = Family("noto", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", shaping=False, core=True)
FALLBACKS = (
    Family("noto-all", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", shaping=False),
    Family("arabic", "NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", shaping=True),
    Family("hebrew", "NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", shaping=True),
)


def cjk_slice(bucket: int) -> Family:
    """The family of one 512-code-point slice of the CJK font."""
    return Family(f"cjk{bucket:03x}", CJK_FILE, CJK_FILE, shaping=False, bucket=bucket)


@dataclass(frozen=True, slots=True)
class Needs:
    """What a document's text needs: fallback families, shaping, and characters no font has."""

    fallbacks: tuple[Family, ...]
    shaping: bool
    missing: frozenset[str]


class _Face:
    """One parsed font file (one family and style)."""

    def __init__(self, family: Family, style: str) -> None:
        path = FONT_DIR / (family.bold if style == "B" else family.regular)
        if family.bucket is not None:
            path = slices.path(family.bucket)
        scratch = FPDF()
        scratch.add_font(family.name, style, path, unicode_range=sorted(CORE) if family.core else None)
        self.proto: TTFFont = next(iter(scratch.fonts.values()))  # type: ignore[assignment]
        self.key = self.proto.fontkey
        self.cmap = frozenset(self.proto.cmap)
        _ = self.proto.hbfont  # shared by every copy: HarfBuzz faces are read-only
        truetype.load(path)  # the glyphs `embed.Producer` copies into each document's subset

    def install(self, pdf: FPDF) -> None:
        font = copy.copy(self.proto)  # shares the fontTools object: only read, by shaping
        font.i = len(pdf.fonts) + 1
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[self.key] = font


_faces: dict[tuple[str, str], _Face] = {}
_lock = threading.Lock()


def _face(family: Family, style: str) -> _Face:
    with _lock:
        face = _faces.get((family.name, style))
        if face is None:
            face = _faces[family.name, style] = _Face(family, style)
        return face


def warm(families: Iterable[Family] = (MAIN, *FALLBACKS)) -> None:
    """Parse the fonts (and read the CJK coverage) now, at start-up, instead of on first use."""
    for family in families:
        for style in ("", "B"):
            _face(family, style)
    slices.cjk_cmap()


def needs(texts: Iterable[str]) -> Needs:
    """The fallback families, shaping and uncovered characters of all `texts` together."""
    main = _face(MAIN, "").cmap
    wanted: dict[str, Family] = {}
    missing: set[str] = set()
    for char in {char for text in texts for char in text}:
        if ord(char) in main or char.isspace():
            continue
        family = next((f for f in FALLBACKS if ord(char) in _face(f, "").cmap), None)
        if family is None and ord(char) in slices.cjk_cmap():
            family = cjk_slice(ord(char) >> BUCKET_BITS)
        if family is None:
            missing.add(char)
        else:
            wanted[family.name] = family
    chosen = (
        *(f for f in FALLBACKS if f.name in wanted),
        *sorted((f for f in wanted.values() if f.bucket is not None), key=lambda f: f.name),
    )
    return Needs(chosen, any(f.shaping for f in chosen), frozenset(missing))


def in_main(text: str) -> bool:
    """True when the main family draws every character of `text` (its widths are then exact)."""
    main = _face(MAIN, "").cmap
    return all(ord(char) in main for char in text)


def install(pdf: FPDF, need: Needs) -> None:
    """Register the main family and `need`'s fallbacks in `pdf`, in a fixed order.

    `pdf` must be written with `embed.Producer` (fpdf2's own writer would change the shared fonts).
    """
    for family in (MAIN, *need.fallbacks):
        for style in ("",) if family.bucket is not None else ("", "B"):
            _face(family, style).install(pdf)
    if need.fallbacks:
        pdf.set_fallback_fonts([f.name for f in need.fallbacks], exact_match=False)
    if need.shaping:
        pdf.set_text_shaping(use_shaping_engine=True)


def clean(text: str, need: Needs) -> str:
    """`text` with every character that no shipped font has replaced by U+FFFD."""
    if not need.missing:
        return text
    return "".join(REPLACEMENT if char in need.missing else char for char in text)
