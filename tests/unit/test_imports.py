"""What each app loads at start-up: no PDF, font or cloud-client library (those load after serving)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from functools import cache

import pytest

from tooling.paths import project_root

ROOT = project_root()
APPS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
_HEAVY = ("fpdf", "fontTools", "uharfbuzz", "reportlab")
_CLIENTS = ("aiohttp", "azure")  # the Dapr client's HTTP stack, the storage SDK that signs links
_SHOWN = (
    "functions.receipt_render.receipt",  # the receipt pipeline imports fpdf
    "functions.common.links",  # the link signer imports the storage SDK
)
# One interpreter loads what every app shares, then forks a child per module: a child's modules are
# the shared ones plus its own import's, so a heavy module anywhere in either is still seen.
_PROBE = textwrap.dedent("""
    import json, os, sys
    import pydantic, bindings.dapr_ports, bindings.errors, bindings.logs
    def top(): return sorted({name.split(".")[0] for name in sys.modules})
    found = {"": top()}
    for module in sys.argv[1:]:
        read, write = os.pipe()
        if os.fork() == 0:
            os.close(read)
            __import__(module)
            os.write(write, json.dumps(top()).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            found[module] = json.loads(pipe.read() or "null")
        os.wait()
    print(json.dumps(found))
""")


@cache
def loaded() -> dict[str, set[str]]:
    """The top-level packages loaded after importing each app and each module of `_SHOWN`."""
    modules = [f"functions.{app}.app" for app in APPS] + list(_SHOWN)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(done.stdout)
    assert all(found[module] for module in modules), done.stderr
    return {module: set(names) for module, names in found.items()}


def test_what_every_app_shares_loads_no_pdf_font_or_client_library() -> None:
    """The probe's shared start (pydantic and the framework's ports) loads none of them itself."""
    assert sorted(loaded()[""] & {*_HEAVY, *_CLIENTS}) == []


@pytest.mark.parametrize("app", APPS)
def test_importing_an_app_loads_no_pdf_font_or_client_library(app: str) -> None:
    """No app imports fpdf or a cloud client at start-up; the renderer loads fpdf after serving."""
    assert "receipt_render" in APPS
    found = loaded()[f"functions.{app}.app"]
    assert "functions" in found
    assert sorted(found & {*_HEAVY, *_CLIENTS}) == []


def test_the_render_and_link_modules_do_load_them() -> None:
    """The check above would notice: the receipt pipeline imports fpdf, the link signer the storage SDK."""
    assert "fpdf" in loaded()["functions.receipt_render.receipt"]
    assert "azure" in loaded()["functions.common.links"]
