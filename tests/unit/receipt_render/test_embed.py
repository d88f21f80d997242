"""Fonts embedded by copying glyphs: the subsets, the PDF font objects, fonts parsed once, fpdf2 pinned."""

from __future__ import annotations

import hashlib
import inspect
import io
import re
from typing import Any

import fpdf
import pytest
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer, _build_cmap_blocks, _cid_font_widths, _tt_font_widths
from pypdf import PdfReader

from functions.receipt_render import embed, fonts, slices, truetype
from tests.unit.receipt_render.samples import receipt_sample

REGULAR = slices.FONT_DIR / "NotoSans-Regular.ttf"
FILES = {  # embedded font name (after the subset tag): its file
    "NotoSans": "NotoSans-Regular.ttf", "NotoSansBold": "NotoSans-Bold.ttf",
    "NotoSansHebrew": "NotoSansHebrew-Regular.ttf", "NotoSansHebrewBold": "NotoSansHebrew-Bold.ttf",
    "DroidSansFallback": slices.CJK_FILE,
}  # fmt: skip
# The fpdf2 code embed.Producer replaces or relies on, as read for embed.PINNED (sha256 of the source).
PINNED_SOURCES: dict[Any, str] = {
    OutputProducer._add_fonts: "311ef727cc856a69",  # noqa: SLF001 - what embed.Producer replaces
    OutputProducer._insert_resources: "d14c597d7d345274",  # noqa: SLF001 - its caller
    _tt_font_widths: "3b8edb6eb2344ae6",
    _build_cmap_blocks: "99874a19959cd7f5",
    SubsetMap: "16880b53adddd6c1",
    TTFFont.__init__: "62afeea957296702",
}


def source_hash(thing: Any) -> str:
    """The first 16 hex digits of the sha256 of `thing`'s source."""
    return hashlib.sha256(inspect.getsource(thing).encode()).hexdigest()[:16]


def original(path: Any = REGULAR) -> ttLib.TTFont:
    """A shipped font file, parsed by fontTools."""
    return ttLib.TTFont(path)


def embedded_fonts(pdf: bytes) -> list[tuple[str, Any, ttLib.TTFont, dict[int, str]]]:
    """Each Type0 font of `pdf`: base font name, CIDFont dictionary, font program, ToUnicode map."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for reference in resources["/Font"].values():
            font = reference.get_object()
            cid_font = font["/DescendantFonts"][0].get_object()
            program = cid_font["/FontDescriptor"]["/FontFile2"].get_data()
            pairs = re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", font["/ToUnicode"].get_data())
            to_unicode = {int(c, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for c, u in pairs}
            found.append((str(font["/BaseFont"]), cid_font, ttLib.TTFont(io.BytesIO(program)), to_unicode))
    distinct = {name: (name, *rest) for name, *rest in found}
    assert len({name.split("+")[0] for name in distinct}) == len(distinct), "a subset tag used twice"
    return list(distinct.values())


def checksum(data: bytes) -> int:
    """The OpenType checksum: the sum of the big-endian 32-bit words (zero-padded), modulo 2**32."""
    data += bytes(-len(data) % 4)
    return sum(int.from_bytes(data[i : i + 4], "big") for i in range(0, len(data), 4)) % 2**32


def widths(w: list[Any]) -> dict[int, int]:
    """A CIDFont's W array as {cid: width}."""
    out: dict[int, int] = {}
    at = 0
    while at < len(w):
        if isinstance(w[at + 1], list):
            out |= {w[at] + i: int(width) for i, width in enumerate(w[at + 1])}
            at += 2
        else:
            out |= dict.fromkeys(range(w[at], w[at + 1] + 1), int(w[at + 2]))
            at += 3
    return out


def test_fpdf2_is_the_pinned_release_and_the_code_embed_relies_on_is_unchanged() -> None:
    """A different fpdf2, or a change to the internals embed.Producer replaces or calls, fails here."""
    assert fpdf.FPDF_VERSION == embed.PINNED, "re-read fpdf2's _add_fonts against embed.py, then re-pin"
    changed = [t.__qualname__ for t, pinned in PINNED_SOURCES.items() if source_hash(t) != pinned]
    assert not changed, f"fpdf2 changed {changed}: check embed.py against them, then update PINNED_SOURCES"
    assert "output_producer_class" in inspect.signature(FPDF.output).parameters
    assert {"ttfont", "subset", "desc", "ttffile", "missing_glyphs"} <= set(TTFFont.__slots__)
    assert callable(_cid_font_widths)


def test_a_subset_holds_exactly_the_used_glyphs_notdef_and_their_composite_components() -> None:
    """Glyph n is the glyph asked for at n, ids not asked for are empty, components (nested too) follow."""
    font = original()
    cmap, order = font.getBestCmap(), font.getGlyphOrder()
    program = truetype.load(REGULAR)
    chars = dict(zip((1, 2, 5), "AǮé", strict=True))  # Ǯ (uni01EE): a composite of composites
    glyph_at = {0: 0} | {code: program.gid(cmap[ord(c)]) for code, c in chars.items()}
    sub = ttLib.TTFont(io.BytesIO(program.subset(glyph_at, {ord(c): code for code, c in chars.items()})))
    glyf, sub_glyf, new_order = font["glyf"], sub["glyf"], sub.getGlyphOrder()
    parts = {c.glyphName for name in (cmap[ord("Ǯ")], cmap[ord("é")]) for c in glyf[name].components}
    parts |= {c.glyphName for name in parts if glyf[name].isComposite() for c in glyf[name].components}
    assert len(new_order) == 6 + len(parts)
    assert [sub_glyf[new_order[i]].numberOfContours for i in (3, 4)] == [0, 0]  # codes 3 and 4 unused
    for new, old in glyph_at.items():
        coordinates, ends, flags = glyf[order[old]].getCoordinates(glyf)
        got = sub_glyf[new_order[new]].getCoordinates(sub_glyf)
        assert (list(got[0]), got[1], list(got[2])) == (list(coordinates), ends, list(flags))
        assert sub["hmtx"][new_order[new]] == font["hmtx"][order[old]]
    assert sub.getBestCmap() == {ord(c): new_order[code] for code, c in chars.items()}


def test_a_subset_is_a_well_formed_font_file() -> None:
    """Table checksums and the head checksum adjustment are right; fontTools reads every table back."""
    program = truetype.load(REGULAR)
    data = program.subset({0: 0, 1: program.gid("A")}, {ord("A"): 1})
    sub = ttLib.TTFont(io.BytesIO(data))
    assert checksum(data) == 0xB1B0AFBA
    for tag, entry in sub.reader.tables.items():
        table = bytearray(data[entry.offset : entry.offset + entry.length])
        if tag == "head":  # its checksum is taken with checkSumAdjustment zero
            table[8:12] = bytes(4)
        assert entry.checkSum == checksum(bytes(table)), tag
        sub[tag].compile(sub)
    assert {n.nameID for n in sub["name"].names} <= set(range(7))
    assert sub["maxp"].numGlyphs == 2
    assert sub["post"].formatType == 3.0


@pytest.mark.parametrize("name", ["Jürgen Weiß", "山田 太郎", "محمد علي", "שלום כהן", "Ǯ Åsa ﬁ"])
def test_each_code_draws_the_glyph_and_width_of_its_character(name: str) -> None:
    """In each embedded font, code c is glyph c (CIDToGIDMap /Identity) with W's width, ToUnicode's text."""
    pdf = receipt_sample(customer={"name": name, "address": ["Ölweg 1"]})
    found = embedded_fonts(pdf)
    assert found
    for base_font, cid_font, program, to_unicode in found:
        assert re.fullmatch(r"/[A-Z]{6}\+\w+", base_font)
        assert cid_font["/CIDToGIDMap"] == "/Identity"
        order, upem = program.getGlyphOrder(), program["head"].unitsPerEm
        for cid, width in widths(cid_font["/W"]).items():
            if cid:  # fpdf2 writes .notdef with width 0; it is never drawn
                assert round(program["hmtx"][order[cid]][0] * 1000 / upem + 0.001) == width, (base_font, cid)
        if "Arabic" in base_font:  # shaped into contextual forms: its codes are not the file's cmap
            continue
        source = original(slices.FONT_DIR / FILES[base_font.split("+")[1]])
        glyf, cmap = source["glyf"], source.getBestCmap()
        for code, char in to_unicode.items():
            # fpdf2 reserves code 0x20 for the space, given a stand-in glyph in a font without one (the
            # CJK slices), which never draws it: the main font has the space.
            if code and len(char) == 1 and char != " ":
                want = glyf[cmap[ord(char)]].getCoordinates(glyf)
                got = program["glyf"][order[code]].getCoordinates(program["glyf"])
                assert (list(got[0]), got[1]) == (list(want[0]), want[1]), (base_font, char)


def test_fonts_are_parsed_once_a_later_render_reads_no_font_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a document has used the fonts, rendering another reads and parses no font file again."""
    first = receipt_sample()

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a font file was read again")

    monkeypatch.setattr(truetype.Program, "__init__", refuse)
    monkeypatch.setattr(ttLib.TTFont, "__init__", refuse)
    monkeypatch.setattr("builtins.open", refuse)
    assert receipt_sample() == first


def test_rendering_leaves_the_shared_fonttools_objects_as_they_were() -> None:
    """Documents share each parsed font's fontTools object; no render subsets it in place."""
    face = fonts._face(fonts.FALLBACKS[1], "")  # noqa: SLF001 - Arabic: shaped, reads the shared object
    glyphs, tables = len(face.proto.ttfont.getGlyphOrder()), sorted(face.proto.ttfont.keys())
    receipt_sample(customer={"name": "محمد علي", "address": []})
    assert (len(face.proto.ttfont.getGlyphOrder()), sorted(face.proto.ttfont.keys())) == (glyphs, tables)


def test_fonts_other_than_truetype_outlines_are_refused_loudly() -> None:
    """A standard (Type1) font cannot be embedded by copying glyphs: the producer says so."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="core font")
    with pytest.raises(TypeError, match="only TrueType outline fonts"):
        pdf.output(output_producer_class=embed.Producer)
