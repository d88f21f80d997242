"""TrueType subsets made by copying glyphs: a font file is parsed once, a subset is assembled from bytes.

fpdf2 has fontTools read and subset every embedded font again for each document, most of a render's
time. A `Program` keeps one font file's tables as bytes and its glyphs' offsets; `Program.subset`
places the glyphs a document uses at the glyph ids it is given (the document's character codes, so
the PDF needs no CIDToGIDMap stream), appends the components of composite glyphs, and writes a small
TrueType file: the tables a PDF font program needs (ISO 32000-1 9.9: head, hhea, maxp, hmtx, loca,
glyf, cvt, fpgm, prep), with gasp, OS/2, a name table cut to its English names 0-6, a post table
without glyph names, and a cmap of the characters drawn, as fontTools' subsetter leaves them.
"""

from __future__ import annotations

import array
import io
import itertools
import struct
import sys
import threading
from typing import TYPE_CHECKING

from fontTools import ttLib

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_NEEDED = frozenset(("head", "hhea", "maxp", "hmtx", "loca", "glyf", "name", "post"))
_COPIED = ("OS/2", "cvt ", "fpgm", "gasp", "prep")  # copied as they are, when the font has them
# Composite glyph component flags (OpenType `glyf`): they decide the size of each component record.
_WORDS, _SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO = 0x0001, 0x0008, 0x0020, 0x0040, 0x0080
_ENGLISH = (3, 0x409)  # Windows platform, US English: the name records fontTools' subsetter keeps
_NAME_IDS = range(7)  # copyright, family, subfamily, unique id, full name, version, PostScript name


class Program:
    """One TrueType font file, parsed once: its tables as bytes, its glyph offsets, metrics and names."""

    def __init__(self, data: bytes) -> None:
        (count,) = struct.unpack_from(">H", data, 4)
        tables: dict[str, bytes] = {}
        for index in range(count):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            tables[tag.decode("latin-1")] = data[offset : offset + length]
        if missing := _NEEDED - tables.keys():
            raise ValueError(f"not a TrueType font with glyf outlines: no {', '.join(sorted(missing))}")
        (glyphs,) = struct.unpack_from(">H", tables["maxp"], 4)
        (long_loca,) = struct.unpack_from(">h", tables["head"], 50)
        if long_loca:
            self._loca: tuple[int, ...] = struct.unpack_from(f">{glyphs + 1}I", tables["loca"])
        else:
            self._loca = tuple(2 * o for o in struct.unpack_from(f">{glyphs + 1}H", tables["loca"]))
        (metrics,) = struct.unpack_from(">H", tables["hhea"], 34)
        hmtx = tables["hmtx"]
        last = hmtx[4 * metrics - 4 : 4 * metrics - 2]  # glyphs past the last metric keep its advance
        self._hmtx = [hmtx[4 * g : 4 * g + 4] for g in range(metrics)] + [
            last + hmtx[4 * metrics + 2 * i : 4 * metrics + 2 * i + 2] for i in range(glyphs - metrics)
        ]
        parsed = ttLib.TTFont(io.BytesIO(data), lazy=True)
        self._gids = {name: gid for gid, name in enumerate(parsed.getGlyphOrder())}
        name = parsed["name"]
        name.names = [n for n in name.names if n.nameID in _NAME_IDS and (n.platformID, n.langID) == _ENGLISH]
        self._glyf = tables["glyf"]
        self._tables = {tag: tables[tag] for tag in _COPIED if tag in tables} | {
            "name": name.compile(parsed),
            "post": struct.pack(">I", 0x30000) + tables["post"][4:32],  # format 3: no glyph names
        }
        self._sums = {tag: _checksum(data) for tag, data in self._tables.items()}
        self._head, self._hhea, self._maxp = tables["head"], tables["hhea"], tables["maxp"]

    def gid(self, glyph_name: str) -> int:
        """The glyph id of `glyph_name` in the font file (fontTools' names, as fpdf2 uses them)."""
        return self._gids[glyph_name]

    def subset(self, glyph_at: Mapping[int, int], cmap: Mapping[int, int]) -> bytes:
        """A TrueType file whose glyph `new` is the file's glyph `glyph_at[new]`, and `cmap` its cmap.

        Glyph 0 is always .notdef; ids that `glyph_at` skips are empty glyphs; components of composite
        glyphs follow the last id. `cmap` maps code points to the new glyph ids.
        """
        order = [-1] * (max(glyph_at, default=0) + 1)  # new glyph id -> old glyph id, -1: empty
        for new, old in glyph_at.items():
            order[new] = old
        order[0] = 0
        new_of = {old: new for new, old in reversed(list(enumerate(order))) if old >= 0}
        outlines = []
        for old in order:  # grows while composite glyphs add their components
            raw = self._glyf[self._loca[old] : self._loca[old + 1]] if old >= 0 else b""
            if len(raw) >= 2 and raw[0] & 0x80:  # noqa: PLR2004 - negative contour count: a composite
                raw = _renumbered(raw, new_of, order)
            outlines.append(raw + b"\0" * (-len(raw) % 4))
        count = len(order)
        offsets = itertools.accumulate((len(o) for o in outlines), initial=0)
        head, hhea, maxp = bytearray(self._head), bytearray(self._hhea), bytearray(self._maxp)
        head[8:12] = bytes(4)  # checksum adjustment, set once the file is complete
        struct.pack_into(">h", head, 50, 1)  # long loca offsets
        struct.pack_into(">H", hhea, 34, count)
        struct.pack_into(">H", maxp, 4, count)
        return _sfnt(
            self._tables
            | {
                "head": bytes(head), "hhea": bytes(hhea), "maxp": bytes(maxp), "cmap": _cmap(cmap),
                "hmtx": b"".join(self._hmtx[old] if old >= 0 else bytes(4) for old in order),
                "loca": struct.pack(f">{count + 1}I", *offsets), "glyf": b"".join(outlines),
            },
            self._sums,
        )  # fmt: skip


def _components(raw: bytes) -> list[tuple[int, int]]:
    """(offset of its glyph id, glyph id) of each component of a composite glyph's outline."""
    found, at = [], 10  # after numberOfContours and the bounding box
    while True:
        flags, gid = struct.unpack_from(">HH", raw, at)
        found.append((at + 2, gid))
        at += 4 + (4 if flags & _WORDS else 2)
        at += 2 if flags & _SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
        if not flags & _MORE:
            return found


def _renumbered(raw: bytes, new_of: dict[int, int], order: list[int]) -> bytes:
    """A composite outline with its components' new ids; components not yet placed are appended."""
    out = bytearray(raw)
    for at, old in _components(raw):
        if old not in new_of:
            new_of[old] = len(order)
            order.append(old)
        struct.pack_into(">H", out, at, new_of[old])
    return bytes(out)


def _cmap(points: Mapping[int, int]) -> bytes:
    """A cmap table with one format 4 (Windows, BMP) subtable mapping `points` to glyph ids."""
    segments: list[list[int]] = []  # [first, last, glyph id - code point]
    for point, gid in sorted(points.items()):
        if point >= 0xFFFF:  # noqa: PLR2004 - beyond the BMP, or the end marker
            continue
        if segments and point == segments[-1][1] + 1 and gid - point == segments[-1][2]:
            segments[-1][1] = point
        else:
            segments.append([point, point, gid - point])
    segments.append([0xFFFF, 0xFFFF, 1])
    count = len(segments)
    power = 1 << (count.bit_length() - 1)
    arrays = (
        struct.pack(f">{count}H", *(s[1] for s in segments)) + bytes(2)
        + struct.pack(f">{count}H", *(s[0] for s in segments))
        + struct.pack(f">{count}H", *(s[2] & 0xFFFF for s in segments)) + bytes(2 * count)
    )  # fmt: skip
    header = (4, 14 + len(arrays), 0, 2 * count, 2 * power, power.bit_length() - 1, 2 * (count - power))
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + struct.pack(">7H", *header) + arrays


def _sfnt(tables: Mapping[str, bytes], sums: Mapping[str, int]) -> bytes:
    """The font file: table directory (tags sorted, checksums), tables 4-byte aligned, head adjusted.

    `sums` holds the checksums known beforehand (of the tables copied from the font file).
    """
    tags = sorted(tables)
    power = 1 << (len(tags).bit_length() - 1)
    directory = bytearray(struct.pack(">IHHHH", 0x10000, len(tags), 16 * power, power.bit_length() - 1,
                                      16 * (len(tags) - power)))  # fmt: skip
    offset, head, total = 12 + 16 * len(tags), 0, 0
    for tag in tags:
        head = offset if tag == "head" else head
        checksum = sums[tag] if tag in sums else _checksum(tables[tag])
        directory += struct.pack(">4sIII", tag.encode("latin-1"), checksum, offset, len(tables[tag]))
        offset += len(tables[tag]) + (-len(tables[tag]) % 4)
        total += checksum
    out = directory + b"".join(tables[tag] + b"\0" * (-len(tables[tag]) % 4) for tag in tags)
    adjustment = 0xB1B0AFBA - _checksum(bytes(directory)) - total  # the whole file's checksum, by parts
    struct.pack_into(">I", out, head + 8, adjustment & 0xFFFFFFFF)
    return bytes(out)


def _checksum(data: bytes) -> int:
    """The OpenType table checksum: the sum of the big-endian 32-bit words, zero-padded, modulo 2**32."""
    words = array.array("I", data + b"\0" * (-len(data) % 4))
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


if array.array("I").itemsize != 4:  # noqa: PLR2004 - checksums sum 32-bit words
    raise ImportError("this platform's C unsigned int is not 32 bits")
_programs: dict[str, Program] = {}
_lock = threading.Lock()


def load(path: str | Path) -> Program:
    """The parsed font file at `path`, read and parsed on first use, then kept for the process."""
    key = str(path)
    with _lock:
        program = _programs.get(key)
        if program is None:
            with open(key, "rb") as file:  # noqa: PTH123 - the key is the path, as fpdf2 was given it
                program = _programs[key] = Program(file.read())
        return program
