"""fpdf2's PDF writer with fonts embedded by copying glyphs (`truetype.Program`), not by fontTools' subsetter.

`Producer` is an fpdf2 `OutputProducer` (`FPDF.output(output_producer_class=Producer)`) that replaces
one method, `_add_fonts`, for documents whose fonts are all TrueType outline fonts, as the shipped
ones are. It writes the objects fpdf2 writes for such a font (a Type0 font over a CIDFontType2 with
its widths, a ToUnicode CMap, CIDSystemInfo, the font descriptor and the FontFile2 stream) from the
same `SubsetMap`, with two differences: the subset's glyph ids are the document's character codes, so
the CIDToGIDMap is /Identity instead of a 128 KiB stream to compress, and each subset's tag comes from
its bytes instead of being MPDFAA for all. Nothing reads or changes the fonts' fontTools objects, so
documents may share them.

This reaches into fpdf2 internals (`_add_fonts` and its helpers, `TTFFont` and `SubsetMap` fields);
`PINNED` names the fpdf2 release they were read from, and tests/unit/receipt_render/test_embed.py
fails loudly when the installed fpdf2 is another one or its internals moved.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from typing import TYPE_CHECKING

from fpdf.fonts import TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream

from functions.receipt_render import truetype

if TYPE_CHECKING:
    from fpdf.output import PDFExtGState, PDFType3Font, PDFXObject
    from fpdf.pattern import Pattern

PINNED = "2.8.9"  # the fpdf2 release whose OutputProducer._add_fonts this replaces
_LOG = logging.getLogger(__name__)
_CMAP = (
    "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
    "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n"
    "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n{blocks}endcmap\n"
    "CMapName currentdict /CMap defineresource pop\nend\nend"
)


class Producer(OutputProducer):
    """fpdf2's output producer, embedding TrueType fonts by copying the glyphs a document uses."""

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, PDFXObject],  # noqa: ARG002 - for Type3 fonts, not embedded here
        gfxstate_objs_per_name: dict[str, PDFExtGState],  # noqa: ARG002
        pattern_objs_per_name: dict[str, Pattern],  # noqa: ARG002
    ) -> dict[int, PDFFont | PDFType3Font]:
        compliance = self.fpdf._compliance  # noqa: SLF001 - PDF/A-1 would need a CIDSet
        if compliance and compliance.profile == "PDFA" and compliance.part == 1:
            raise NotImplementedError("PDF/A-1 needs a CIDSet; this producer writes PDF/A-2 and later")
        objects: dict[int, PDFFont | PDFType3Font] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda font: font.i):
            if not isinstance(font, TTFFont) or font.color_font or font.is_cff:
                raise TypeError(f"{font.fontkey}: only TrueType outline fonts are embedded by copying glyphs")
            objects[font.i] = self._add_font(font)
        return objects

    def _add_font(self, font: TTFFont) -> PDFFont:
        """The Type0 font of `font` and its descendants: the objects fpdf2 2.8.9 adds, CIDs = glyph ids."""
        if font.missing_glyphs:
            _LOG.warning("font %s has no glyph for %d characters", font.name, len(font.missing_glyphs))
        program = truetype.load(font.ttffile)
        used = [(glyph, code) for glyph, code in font.subset.items() if glyph is not None]
        glyph_at = {code: program.gid(glyph.glyph_name) for glyph, code in used}
        cmap = {
            glyph.unicode[0]: code
            for glyph, code in used
            if isinstance(glyph.unicode, tuple) and len(glyph.unicode) == 1
        }
        subset = program.subset(glyph_at, cmap)
        name = f"{_tag(subset)}+{font.name}"
        type0 = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
        self._add_pdf_obj(type0, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2", base_font=name, d_w=font.desc.missing_width, w=_tt_font_widths(font)
        )
        self._add_pdf_obj(cid_font, "fonts")
        type0.descendant_fonts = PDFArray([cid_font])
        type0.to_unicode = PDFContentStream(_to_unicode(font).encode("latin-1"))
        self._add_pdf_obj(type0.to_unicode, "fonts")
        cid_font.c_i_d_system_info = CIDSystemInfo()
        self._add_pdf_obj(cid_font.c_i_d_system_info, "fonts")
        descriptor = copy.copy(font.desc)  # the parsed font's own is shared by every document
        descriptor.font_name = Name(name)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]
        stream = PDFFontStream(contents=subset)
        self._add_pdf_obj(stream, "fonts")
        descriptor.font_file2 = stream  # type: ignore[attr-defined]
        font.subset.pick.cache_clear()  # class-wide caches: they would keep every document's glyphs
        font.subset.get_glyph.cache_clear()
        return type0


def _to_unicode(font: TTFFont) -> str:
    """The ToUnicode CMap of `font`'s codes, as fpdf2 writes it (UTF-16, surrogate pairs beyond the BMP)."""
    entries = [
        f"<{code:04X}> <{''.join(map(_utf16, glyph.unicode))}>\n"
        for glyph, code in font.subset.items()
        if glyph is not None and isinstance(glyph.unicode, tuple) and glyph.unicode
    ]
    return _CMAP.format(blocks=_build_cmap_blocks(entries, "bfchar"))


def _tag(subset: bytes) -> str:
    """Six capital letters from the subset's bytes: different subsets get different tags (ISO 32000 9.6.4).

    fpdf2 tags every subset MPDFAA, which gives all the CJK slices of a document one name.
    """
    return "".join(chr(ord("A") + byte % 26) for byte in hashlib.sha256(subset).digest()[:6])


def _utf16(point: int) -> str:
    if point > 0xFFFF:  # noqa: PLR2004 - beyond the BMP: a surrogate pair
        return f"{0xD800 | (point - 0x10000) >> 10:04X}{0xDC00 | (point & 0x3FF):04X}"
    return f"{point:04X}"
