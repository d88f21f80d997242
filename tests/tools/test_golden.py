"""Golden images: page 1 of each template, rasterised by pdftoppm, matches docs/images within a tolerance.

The samples are the files under examples/. After a deliberate template change, regenerate the images
with `BINDERY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/tools/test_golden.py` and look at them.
Each image has its page's text beside it (`<template>.txt`), compared first: a new Babel whose CLDR writes
a date or an amount differently fails there, saying so, rather than as a count of changed pixels.
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
import subprocess
from pathlib import Path

import babel
import babel.core
import pytest
from PIL import Image, ImageChops, ImageStat
from pypdf import PdfReader

from tests.unit.receipt_render.samples import SAMPLES, receipt_sample

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
DPI = 80
# Anti-aliasing may differ between poppler builds; a changed amount moves about 0.09 % of the pixels
# by more than 64 grey levels (the last test), so the tolerance sits well below that.
MEAN_TOLERANCE = 0.05  # mean absolute grey-level difference, of 255 (a changed amount: ~0.15)
PIXEL_TOLERANCE = 0.0002  # share of pixels more than 64 grey levels apart


def first_page(pdf: bytes, folder: Path) -> Image.Image:
    """Page 1 of `pdf` as a greyscale image, rasterised by pdftoppm."""
    tool = shutil.which("pdftoppm")
    assert tool, "pdftoppm (Debian package poppler-utils) is needed for the golden-image tests"
    source = folder / "page.pdf"
    source.write_bytes(pdf)
    command = [tool, "-r", str(DPI), "-png", "-gray", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run([*command, str(source), str(folder / "p")], check=True, timeout=60)
    with Image.open(folder / "p.png") as image:
        return image.convert("L")


def distance(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """(mean grey-level difference, share of pixels more than 64 levels apart)."""
    diff = ImageChops.difference(a, b)
    far = sum(diff.histogram()[65:]) / (diff.width * diff.height)
    return ImageStat.Stat(diff).mean[0], far


def first_page_text(pdf: bytes) -> str:
    """The text of page 1, as pypdf extracts it."""
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text() + "\n"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_first_page_matches_its_golden_image(name: str, tmp_path: Path) -> None:
    """Layout, fonts and text of each template look as approved (docs/images/<template>.png and .txt)."""
    pdf = SAMPLES[name]()
    image, text = first_page(pdf, tmp_path), first_page_text(pdf)
    golden, golden_text = IMAGES / f"{name}.png", IMAGES / f"{name}.txt"
    if os.environ.get("BINDERY_UPDATE_GOLDEN"):
        IMAGES.mkdir(parents=True, exist_ok=True)
        image.save(golden, optimize=True)
        golden_text.write_text(text)
    approved_text = golden_text.read_text()
    assert text == approved_text, (
        f"{name}: the page's text changed (Babel {babel.__version__}, CLDR {babel.core.get_cldr_version()}); "
        "if the change is right, regenerate the golden images (module docstring) and look at them:\n"
        + "\n".join(difflib.unified_diff(approved_text.splitlines(), text.splitlines(), lineterm=""))
    )
    with Image.open(golden) as approved:
        reference = approved.convert("L")
    assert image.size == reference.size
    mean, far = distance(image, reference)
    assert mean <= MEAN_TOLERANCE, f"{name}: mean difference {mean:.2f}"
    assert far <= PIXEL_TOLERANCE, f"{name}: {far:.2%} of pixels changed"


def test_the_comparison_notices_a_changed_amount(tmp_path: Path) -> None:
    """A receipt with a different total is outside the tolerance: the golden check can fail."""
    with Image.open(IMAGES / "receipt-v1.png") as approved:
        reference = approved.convert("L")
    changed = first_page(receipt_sample(receipt_number="R-9999-9999", tax_rate="0.5"), tmp_path)
    mean, far = distance(changed, reference)
    assert far > PIXEL_TOLERANCE
    assert mean > MEAN_TOLERANCE
