"""CJK font slices cut ahead of time (`slices.cut_all`) are the ones a process would cut itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import fontTools
import pytest

from functions.receipt_render import slices

if TYPE_CHECKING:
    from pathlib import Path

FIRST, HANGUL = 0x4E00 >> slices.BUCKET_BITS, 0xAC00 >> slices.BUCKET_BITS


@pytest.fixture
def ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder standing in for the package's folder of slices."""
    monkeypatch.setattr(slices, "folder", lambda: tmp_path)
    return tmp_path


def test_a_slice_cut_ahead_is_the_same_file_as_one_cut_on_first_use(ahead: Path) -> None:
    """Cutting is deterministic, so a document draws the same glyphs from either."""
    slices.cut_all([FIRST, HANGUL])
    for bucket in (FIRST, HANGUL):
        assert (ahead / f"cjk{bucket:03x}.ttf").read_bytes() == slices.cut(bucket)


def test_a_process_uses_a_slice_cut_ahead_and_cuts_only_the_missing_ones(ahead: Path) -> None:
    """The ready file is used as it is; a slice not cut ahead is cut into a private folder."""
    slices.cut_all([FIRST])
    assert slices.path(FIRST) == ahead / f"cjk{FIRST:03x}.ttf"
    other = slices.path(HANGUL)
    assert other.parent != ahead
    assert other.read_bytes() == slices.cut(HANGUL)


def test_cutting_again_keeps_what_is_there_and_leaves_no_partial_files(ahead: Path) -> None:
    """`make setup` runs it every time: existing slices are kept, no `.part` file is left behind."""
    slices.cut_all([FIRST])
    ready = ahead / f"cjk{FIRST:03x}.ttf"
    before = ready.stat().st_mtime_ns
    slices.cut_all([FIRST, HANGUL])
    assert ready.stat().st_mtime_ns == before
    assert sorted(p.name for p in ahead.iterdir()) == sorted([ready.name, f"cjk{HANGUL:03x}.ttf"])


def test_slices_cut_by_another_fonttools_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder's name follows fontTools' version: an upgrade cuts its own slices."""
    slices.folder.cache_clear()
    mine = slices.folder()
    monkeypatch.setattr(fontTools, "version", f"{fontTools.version}.other")
    slices.folder.cache_clear()
    try:
        assert slices.folder() != mine
        assert slices.folder().parent == mine.parent
    finally:
        slices.folder.cache_clear()


def test_every_slice_is_listed_and_covers_the_font() -> None:
    """Each code point of the CJK font lies in one listed slice."""
    listed = set(slices.buckets())
    assert all(point >> slices.BUCKET_BITS in listed for point in slices.cjk_cmap())
