"""Slices of the CJK font: cut once, at setup or image build, else on a process's first use.

The CJK font is drawn from slices of 512 code points (`fonts.py`). Cutting one with fontTools costs
~0.4 s of CPU, and a long Japanese or Chinese document touches dozens: a cold process would spend
half a minute before drawing. `python -m functions.receipt_render.slices` cuts every slice into the
package's font folder (`fonts/slices/<key>/`; `make setup` and the image build run it); the key
names the font file's digest, fontTools' version and the slice size, so slices cut by another
version are never used. Without that folder (a checkout before `make setup`), a slice is cut on
first use into a private folder, as before.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import fontTools
from fontTools import subset, ttLib

if TYPE_CHECKING:
    from collections.abc import Iterable

FONT_DIR = Path(__file__).parent / "fonts"
CJK_FILE = "DroidSansFallback.ttf"  # no bold face: bold CJK text uses the regular slices
BUCKET_BITS = 9


@functools.cache
def cjk_cmap() -> frozenset[int]:
    """The code points the CJK font covers (its glyphs are only read slice by slice)."""
    return frozenset(ttLib.TTFont(FONT_DIR / CJK_FILE, lazy=True).getBestCmap())


def buckets() -> list[int]:
    """Every slice the CJK font has glyphs in."""
    return sorted({point >> BUCKET_BITS for point in cjk_cmap()})


@functools.cache
def folder() -> Path:
    """Where the slices cut ahead of time live: named by the font, fontTools' version and the size."""
    digest = hashlib.sha256((FONT_DIR / CJK_FILE).read_bytes())
    digest.update(f"fontTools {fontTools.version} bits {BUCKET_BITS}".encode())
    return FONT_DIR / "slices" / digest.hexdigest()[:16]


def path(bucket: int) -> Path:
    """A font file of the CJK glyphs of one slice: the one cut ahead of time, else one cut now."""
    ready = folder() / _name(bucket)
    if ready.is_file():
        return ready
    made = _scratch() / _name(bucket)
    made.write_bytes(cut(bucket))
    return made


def cut(bucket: int) -> bytes:
    """The font file of one slice: its code points, without layout tables, glyph names kept."""
    low = bucket << BUCKET_BITS
    wanted = sorted(point for point in cjk_cmap() if low <= point < low + (1 << BUCKET_BITS))
    font = ttLib.TTFont(FONT_DIR / CJK_FILE, recalcTimestamp=False)
    options = subset.Options()
    options.glyph_names = True
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=wanted)
    cutter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def cut_all(chosen: Iterable[int] | None = None) -> Path:
    """Cut the slices (all, or `chosen`) missing from `folder()`; each file appears whole or not at all."""
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    for bucket in buckets() if chosen is None else chosen:
        final = target / _name(bucket)
        if final.is_file():
            continue
        partial = final.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(cut(bucket))
        partial.replace(final)
    return target


def _name(bucket: int) -> str:
    return f"cjk{bucket:03x}.ttf"


@functools.cache
def _scratch() -> Path:
    made = Path(tempfile.mkdtemp(prefix="bindery-fonts-"))
    atexit.register(shutil.rmtree, made, ignore_errors=True)
    return made


if __name__ == "__main__":
    sys.stdout.write(f"CJK font slices: {cut_all()}\n")
