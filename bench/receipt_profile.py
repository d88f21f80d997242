"""Where a render's time and the renderer's memory go.

`profile`: cProfile's top functions by cumulative time, and one package's share. `stages`: resident
memory and seconds after each step of the renderer's loading; `python bench/receipt_profile.py` runs
it in a fresh interpreter and prints JSON (this module imports only the standard library).
"""

from __future__ import annotations

import cProfile
import json
import time
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _lsprof import profiler_entry
    from collections.abc import Callable

HERE = Path(__file__).parent


def profile(
    job: Callable[[], object],
    renders: int = 50,
    *,
    top: int = 8,
    package: str | tuple[str, ...] = "fontTools/",
) -> dict[str, Any]:
    """Profile `renders` calls of `job`: the `top` functions by cumulative time, and `package`'s share.

    `package` is a path under site-packages or the project (a folder or a module), or several taken
    together; its five functions of most own time come along, to say what inside it costs.
    """
    paths = tuple(f"/{path}" for path in ((package,) if isinstance(package, str) else package))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(renders):
        job()
    profiler.disable()
    entries = profiler.getstats()
    total = sum(entry.inlinetime for entry in entries)
    ours = [entry for entry in entries if not _in(entry.code, str(HERE))]  # not the bench's own loop
    ranked = sorted(ours, key=lambda entry: entry.totaltime, reverse=True)[:top]
    rows = [
        {
            "function": _where(entry.code),
            "cumulative_seconds": entry.totaltime,
            "share": entry.totaltime / total,
        }
        for entry in ranked
    ]
    return {
        "renders": renders,
        "seconds": total,
        "top": rows,
        "package": " + ".join(path.strip("/").rsplit("/", 1)[-1] for path in paths),
        "package_share": _entered(entries, paths) / total,
        "package_top": [
            {"function": _where(entry.code), "own_seconds": entry.inlinetime}
            for entry in sorted(entries, key=lambda entry: entry.inlinetime, reverse=True)
            if _in(entry.code, *paths)
        ][:5],
    }


def _in(code: object, *folders: str) -> bool:
    return isinstance(code, CodeType) and any(folder in code.co_filename for folder in folders)


def _where(code: object) -> str:
    """`file:line(function)` from the package or project folder on (no machine paths), or a builtin's name."""
    if not isinstance(code, CodeType):
        return str(code)
    path = code.co_filename
    for marker, skip in (("site-packages/", True), ("functions/", False), ("bindings/", False)):
        if marker in path:
            path = path[path.index(marker) + (len(marker) if skip else 0) :]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{code.co_firstlineno}({code.co_name})"


def _entered(entries: list[profiler_entry], folders: tuple[str, ...]) -> float:
    """Seconds spent in `folders`' code, counted where calls enter it from outside (nothing twice)."""
    return sum(
        call.totaltime
        for entry in entries
        if not _in(entry.code, *folders)
        for call in entry.calls or ()
        if _in(call.code, *folders)
    )


def stages() -> list[dict[str, Any]]:
    """RSS (MiB) and seconds after each step of receipt-render's loading, in this interpreter."""
    rows: list[dict[str, Any]] = []
    began = time.perf_counter()

    def mark(step: str) -> None:
        nonlocal began
        rss = next(
            line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:")
        )
        rows.append(
            {"step": step, "rss_mib": int(rss.split()[1]) / 1024, "seconds": time.perf_counter() - began}
        )
        began = time.perf_counter()

    mark("interpreter")
    import bindings.server  # noqa: F401, PLC0415 - each import is a step measured
    import functions.receipt_render.app  # noqa: PLC0415

    mark("app module: FunctionApp, Dapr gRPC server")
    import functions.common.links  # noqa: F401, PLC0415 - loaded by the warm-up, after serving

    mark("link signer: azure-storage-blob (azure-core, aiohttp)")
    from functions.receipt_render import fonts, invoice, receipt  # noqa: F401, PLC0415

    mark("fpdf2, fontTools, Babel, the pipelines")
    for family in (fonts.MAIN, *fonts.FALLBACKS):
        fonts.warm([family])
        mark(f"fonts: {family.name} (regular, bold)")
    return rows


if __name__ == "__main__":
    print(json.dumps(stages()))
