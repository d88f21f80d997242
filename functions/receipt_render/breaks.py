"""Line breaking for every wrapped text: each word measured once, each line checked once.

fpdf2's `multi_cell` finds line ends by measuring the line again after every character; with text
shaping (Arabic, Hebrew) that makes a long description cost seconds. Here a line is filled from the
widths of its words (a word is measured once per document) and the line is measured once to confirm
it fits; a word wider than a line is cut between characters by bisection, never inside a character
and its combining marks or a joined pair.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_JOINERS = frozenset((0x200C, 0x200D, 0x034F, *range(0xFE00, 0xFE10)))
_MARKS = frozenset(("Mn", "Mc", "Me"))


def _breakable(text: str, index: int) -> bool:
    """Whether a line may end before `text[index]`: not before a mark, not beside a joiner."""
    here, before = text[index], text[index - 1]
    return not (unicodedata.category(here) in _MARKS or ord(here) in _JOINERS or ord(before) in _JOINERS)


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """`text` as lines no wider than `width`; joined with single spaces they give `text` back."""
    space = measure(" ")
    lines: list[str] = []
    words: list[str] = []
    used = 0.0
    for given in text.split(" "):
        word = given
        wide = measure(word) if word else 0.0
        if words and used + space + wide > width:
            lines.extend(_close(words, width, measure))
            words, used = [], 0.0
        if not words and wide > width:
            *cut, word = _cut(word, width, measure)
            lines.extend(cut)
            wide = measure(word)
        used = wide if not words else used + space + wide
        words.append(word)
    lines.extend(_close(words, width, measure))
    return lines


def _close(words: list[str], width: float, measure: Callable[[str], float]) -> list[str]:
    """The line of `words`, measured whole; if shaping made it wider than its words, split it again."""
    line = " ".join(words)
    if len(words) == 1 or measure(line) <= width:
        return [line]
    return [*_close(words[:-1], width, measure), *_close(words[-1:], width, measure)]


def _cut(word: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """`word` in pieces that each fit `width` (the last may be shorter), cut between characters."""
    pieces = []
    while len(word) > 1:
        cut = _fitting(word, width, measure)
        if cut == len(word):  # the rest fits, or is one character and its marks
            break
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def _fitting(word: str, width: float, measure: Callable[[str], float]) -> int:
    """Length of the longest prefix of `word` that fits (all of it, perhaps) and ends at a break.

    The sum of its characters' widths (each measured once) gives a first guess, which whole
    measurements then settle by bisection: exact without shaping in two, near it with shaping.
    """
    guess = _guess(word, width, measure)
    low, high, best = 1, len(word), 0
    for probe in (guess, guess + 1):  # usually decides it: guess fits, guess + 1 does not
        if low <= probe <= high:
            fits = measure(word[:probe]) <= width
            best, low, high = (probe, probe + 1, high) if fits else (best, low, probe - 1)
    while low <= high:
        middle = (low + high) // 2
        fits = measure(word[:middle]) <= width
        best, low, high = (middle, middle + 1, high) if fits else (best, low, middle - 1)
    if best == len(word):
        return best
    cut = best
    while cut > 0 and not _breakable(word, cut):
        cut -= 1
    if cut == 0:  # not one character fits: a character and its marks per line
        cut = 1
        while cut < len(word) and not _breakable(word, cut):
            cut += 1
    return cut


def _guess(word: str, width: float, measure: Callable[[str], float]) -> int:
    """How many characters of `word` fit by the sum of their own widths."""
    used = 0.0
    for count, char in enumerate(word):
        used += measure(char)
        if used > width:
            return count
    return len(word)
