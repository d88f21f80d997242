"""Receipt rendering against ReportLab: one-page p50, cost per page, text shaping, and a profile.

Our side is the pipeline's own `receipt.render(receipt.load(…))` (fpdf2) on a version 2 request whose
details sit in an in-memory billing store; ReportLab's canvas draws the same document from the same
loaded details (`receipt_reportlab.py`). Fonts are parsed before timing on both sides; the renderers
take turns call by call (A, B, A, B…), so machine noise hits both. `python bench/receipt_render.py`
prints the results as JSON (`--quick`: toy sizes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import framework
import receipt_profile
import receipt_reportlab as rl
import worst_case
from pypdf import PdfReader
from receipt_inputs import ISSUER, NAMES, invoice_order, lines_for, receipt_loader
from stats import spread

from functions.receipt_render import fonts, invoice, receipt
from tooling.paths import project_root, var_dir

if TYPE_CHECKING:
    from collections.abc import Mapping

PAGES = (1, 5, 20)
# Font subsetting and embedding: our producer and subsetter, and fontTools (which shaping still reads).
FONT_CODE = ("functions/receipt_render/embed.py", "functions/receipt_render/truetype.py", "fontTools/")
Job = Callable[[], bytes]  # one render, its PDF returned


def _ours(name: str) -> Job:
    """Our pipeline's render of that receipt, loading included."""
    load = receipt_loader(name)
    return lambda: receipt.render(load(), ISSUER)


def _interleaved(
    jobs: Mapping[str, Callable[[], bytes]], samples: int, warm: int = 2
) -> dict[str, list[float]]:
    """Seconds per call of each job, the jobs taking turns so that noise hits all of them alike."""
    for _ in range(warm):
        for job in jobs.values():
            job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(samples):
        for name, job in jobs.items():
            began = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - began)
    return times


def _pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def one_page(samples: int) -> dict[str, Any]:
    """p50, min and max of a one-page receipt from each renderer, and their ratio."""
    load = receipt_loader(NAMES["latin"])
    jobs: dict[str, Job] = {
        "fpdf2": _ours(NAMES["latin"]),
        "reportlab": lambda: rl.receipt_pdf(load(), ISSUER),
    }
    times = _interleaved(jobs, samples)
    ours, theirs = spread(times["fpdf2"]), spread(times["reportlab"])
    pdfs = {name: job() for name, job in jobs.items()}
    return {
        "samples": samples,
        "lines": len(load().details.lines),
        "fpdf2": ours,
        "reportlab": theirs,
        "ratio": ours["median"] / theirs["median"],
        "bytes": {name: len(pdf) for name, pdf in pdfs.items()},
        "pages": {name: _pages(pdf) for name, pdf in pdfs.items()},
    }


def per_page(samples: int, pages: tuple[int, ...] = PAGES) -> dict[str, Any]:
    """Invoices of `pages` pages from each renderer, and the cost of each page beyond the first."""
    orders = {count: invoice_order(lines_for(count)) for count in pages}
    jobs: dict[str, Job] = {}
    for count, order in orders.items():
        jobs[f"fpdf2/{count}"] = partial(invoice.render, invoice.Invoice("orders/bench.json", order), ISSUER)
        jobs[f"reportlab/{count}"] = partial(rl.invoice_pdf, order, ISSUER)
    times = _interleaved(jobs, samples)
    sizes: dict[str, dict[str, Any]] = {
        str(count): {
            "lines": len(order.lines),
            "pages": {side: _pages(jobs[f"{side}/{count}"]()) for side in ("fpdf2", "reportlab")},
            **{side: spread(times[f"{side}/{count}"]) for side in ("fpdf2", "reportlab")},
        }
        for count, order in orders.items()
    }
    first = sizes[str(pages[0])]
    extra: dict[str, dict[str, float]] = {}
    for count in pages[1:]:
        row = {
            side: (sizes[str(count)][side]["median"] - first[side]["median"]) / (count - pages[0])
            for side in ("fpdf2", "reportlab")
        }
        extra[str(count)] = {**row, "ratio": row["fpdf2"] / row["reportlab"]}
    return {"samples": samples, "sizes": sizes, "per_extra_page": extra}


def shaping(samples: int) -> dict[str, Any]:
    """The one-page receipt for a Latin, Arabic, Hebrew and CJK customer name: p50s and ratios to Latin."""
    jobs = {script: _ours(name) for script, name in NAMES.items()}
    times = _interleaved(jobs, samples)
    latin = spread(times["latin"])["median"]
    return {
        "samples": samples,
        "scripts": {
            script: {
                "name": NAMES[script],
                "shaping": fonts.needs([NAMES[script]]).shaping,
                "fallbacks": [family.name for family in fonts.needs([NAMES[script]]).fallbacks],
                "seconds": spread(values),
                "ratio_to_latin": spread(values)["median"] / latin,
            }
            for script, values in times.items()
        },
    }


def app(root: Path, runs: int = 5, warm_after: float = 3.0) -> dict[str, Any]:
    """receipt-render's ready time, RSS a second and `warm_after` seconds after ready, and by load step."""
    row = framework.ready(root, runs=runs, functions=("receipt_render",), warm_after=warm_after)
    probe = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("receipt_profile.py"))], capture_output=True, text=True,
        check=True, timeout=300, env={**os.environ, "PYTHONPATH": str(project_root())},
    )  # fmt: skip
    return {**row["receipt_render"], "warm_after_seconds": warm_after, "stages": json.loads(probe.stdout)}


QUICK = {
    "samples": 10, "page_samples": 2, "pages": (1, 2), "shaping_samples": 3, "renders": 5, "page_renders": 1,
}  # fmt: skip


def measure(
    *,
    samples: int = 200,
    page_samples: int = 15,
    pages: tuple[int, ...] = PAGES,
    shaping_samples: int = 30,
    renders: int = 50,
    page_renders: int = 3,
) -> dict[str, Any]:
    """Every figure of the section (`QUICK` holds toy sizes), fonts parsed first on both sides.

    Two profiles: `renders` one-page receipts, and `page_renders` of the longest invoice.
    """
    fonts.warm()
    rl.register()
    longest = invoice.Invoice("orders/bench.json", invoice_order(lines_for(pages[-1])))
    return {
        "one_page": one_page(samples),
        "per_page": per_page(page_samples, pages),
        "shaping": shaping(shaping_samples),
        "profile": receipt_profile.profile(_ours(NAMES["latin"]), renders, package=FONT_CODE),
        "page_profile": {
            "pages": pages[-1],
            **receipt_profile.profile(
                partial(invoice.render, longest, ISSUER), page_renders, package=FONT_CODE
            ),
        },
    }  # fmt: skip


def section(*, quick: bool = False) -> dict[str, Any]:
    """The section as `bench/run.py` publishes it: the render figures and the renderer process."""
    sizes: dict[str, Any] = QUICK if quick else {}
    return {
        **measure(**sizes),
        "app": app(var_dir() / "bench" / "ready", runs=2 if quick else 5),
        "worst_case": worst_case.measure(quick=quick),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="toy sizes")
    print(json.dumps(section(quick=parser.parse_args().quick), indent=2, ensure_ascii=False))
