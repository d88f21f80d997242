"""The dashboard page's load to every tile drawn, in headless Chromium (as `tooling.browser` drives it).

The dashboard app and its daprd (app id dashboard: of the components it is given, only `tiles` is in
its scope) over a `tiles.db` in which the tile builder has built every catalogue tile from seeded
counters (`dashboard_tiles`). A script added to every document before the page's own
(`Page.addScriptToEvaluateOnNewDocument`) watches the tiles' `data-state` and marks, on the
page's own clock (`performance.now()`: milliseconds since navigation start), the moment the last tile
left `loading`, which the page sets once the tile is drawn, and the frame after it. Each load is a new
navigation of the same browser; the dashboard answers every file `no-store`, so none comes from a cache.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import dashboard_tiles
from stats import spread

from functions.common import names
from functions.common.tiles import CATALOGUE
from tooling import browser, daprd, sidecar
from tooling.waiting import eventually

if TYPE_CHECKING:
    from pathlib import Path

    from selenium.webdriver.chrome.webdriver import WebDriver

_MARK = """
(() => {
  const settled = () => {
    const tiles = document.querySelectorAll("#tiles .tile");
    return tiles.length > 0 && [...tiles].every((tile) => tile.dataset.state !== "loading");
  };
  const observer = new MutationObserver(() => {
    if (window.__benchDrawn === undefined && settled()) {
      window.__benchDrawn = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => { window.__benchFrame = performance.now(); });
    }
  });
  const watched = { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] };
  observer.observe(document, watched);
})();
"""
_READ = """
const nav = performance.getEntriesByType("navigation")[0];
return {drawn: window.__benchDrawn, frame: window.__benchFrame ?? null,
        response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd,
        load: nav.loadEventEnd, requests: performance.getEntriesByType("resource").length,
        states: [...document.querySelectorAll("#tiles .tile")].map((tile) => tile.dataset.state)};
"""


def section(work: Path, *, quick: bool) -> dict[str, Any]:
    """`run.py`'s dashboard section: the refresh against open cases, then the page over its tiles."""
    began = time.perf_counter()
    sizes = (1_000, 20_000) if quick else (1_000, 1_000_000)
    refresh = dashboard_tiles.measure(work, sizes, runs=2 if quick else 7)
    page = measure(dashboard_tiles.folder(work, sizes[-1]), loads=5 if quick else 20)
    shutil.rmtree(work, ignore_errors=True)  # the largest counters take hundreds of MB
    return {"refresh": refresh, "page": page, "seconds": time.perf_counter() - began}


def measure(state: Path, *, loads: int = 20) -> dict[str, Any]:
    """`loads` page loads over the tiles in `state`/tiles.db (components in `state`/components)."""
    load_before = os.getloadavg()[0]
    spec = sidecar.AppSpec(names.DASHBOARD, "functions.dashboard.app", protocol="http",
                           env={"BINDERY_LOG_LEVEL": "WARNING"})  # fmt: skip
    running = sidecar.start(
        spec, daprd=daprd.find_or_build(), resources=state / "components", log_dir=state / "logs"
    )
    driver = browser.chromium()
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _MARK})
        url = f"http://127.0.0.1:{running.ports.app}/"
        rows = [_load(driver, url) for _ in range(loads + 1)]  # the first warms the browser up
    finally:
        driver.quit()
        running.stop()
    first, rows = rows[0], rows[1:]
    out: dict[str, Any] = {"loads": loads, "tiles": len(CATALOGUE), "load_before": load_before,
                           "first_load": first, "requests": rows[0]["requests"]}  # fmt: skip
    for key in ("drawn", "frame", "response_end", "dom_content_loaded", "load"):
        values = [row[key] for row in rows if row[key] is not None]
        if values:
            out[key] = spread(values)
    return out


def _load(driver: WebDriver, url: str) -> dict[str, Any]:
    """One navigation to the page, until its mark is set; the page's timings (ms since navigation)."""
    driver.get(url)
    drawn = "return window.__benchDrawn !== undefined"
    eventually(lambda: driver.execute_script(drawn), "every tile drawn", timeout=30, every=0.02)
    time.sleep(0.05)  # the frame after it
    row: dict[str, Any] = driver.execute_script(_READ)
    if set(row.pop("states")) != {"ok"}:
        raise RuntimeError("a tile was not drawn: the page shows it missing or failed")
    return row
