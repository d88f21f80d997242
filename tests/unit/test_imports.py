"""What each app loads at start-up: no PDF, font or cloud-client library (those load after serving)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tooling.paths import project_root

ROOT = project_root()
APPS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
_HEAVY = ("fpdf", "fontTools", "uharfbuzz", "reportlab")
_CLIENTS = ("aiohttp", "azure")  # the Dapr client's HTTP stack, the storage SDK that signs links


def loaded_after_import(module: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing `module`."""
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("app", APPS)
def test_importing_an_app_loads_no_pdf_font_or_client_library(app: str) -> None:
    """No app imports fpdf or a cloud client at start-up; the renderer loads fpdf after serving."""
    assert "receipt_render" in APPS
    loaded = loaded_after_import(f"functions.{app}.app")
    assert "functions" in loaded
    assert sorted(loaded & {*_HEAVY, *_CLIENTS}) == []


def test_the_render_and_link_modules_do_load_them() -> None:
    """The check above would notice: the receipt pipeline imports fpdf, the link signer the storage SDK."""
    assert "fpdf" in loaded_after_import("functions.receipt_render.receipt")
    assert "azure" in loaded_after_import("functions.common.links")
