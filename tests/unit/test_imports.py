"""What each app loads at start-up: only the renderer may load fpdf, and it loads it after serving."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bindings.dev.paths import project_root

ROOT = project_root()
APPS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
_HEAVY = ("fpdf", "fontTools", "uharfbuzz", "reportlab")


def loaded_after_import(module: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing `module`."""
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("app", APPS)
def test_importing_an_app_loads_no_pdf_or_font_library(app: str) -> None:
    """Apps that do not render never import fpdf; the renderer imports it only when it runs (ready time)."""
    assert "receipt_render" in APPS
    loaded = loaded_after_import(f"functions.{app}.app")
    assert "functions" in loaded
    assert sorted(loaded & set(_HEAVY)) == []


def test_the_render_modules_do_load_fpdf() -> None:
    """The check above would notice: the receipt pipeline's modules import fpdf."""
    assert "fpdf" in loaded_after_import("functions.receipt_render.receipt")
