"""Headless Chromium for the dashboard: the real-browser test's driver and the README's screenshot.

Debian's `chromium` and its `chromedriver` (`chromium-driver`), which `tools/system-packages` installs
for `make test`, driven by Selenium (a dev dependency, imported here only when a browser is wanted).

    python -m tooling.browser [--url URL] [--out docs/dashboard.png]

Without `--url` it starts the dashboard alone, with its sidecar, over the run state `make demo` or
`make run` left in var/ (the tiles last built there, while their TTL lasts), waits until every tile
is drawn, saves a PNG of the whole page and stops what it started.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from functions.common import names
from tooling import procs
from tooling.paths import project_root, var_dir
from tooling.sidecar import AppSpec
from tooling.waiting import eventually

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

_TILES = "#tiles .tile"


def chromium(*, width: int = 1400, height: int = 1000) -> WebDriver:
    """A headless Chromium keeping its console and network logs (`get_log("browser" | "performance")`)."""
    from selenium import webdriver  # noqa: PLC0415 - a dev dependency, for the test and the screenshot
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser is None or driver is None:
        raise procs.StackError("the dashboard's browser needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def log(driver: WebDriver, kind: str) -> list[dict[str, Any]]:
    """The entries of the browser's `browser` (console) or `performance` (network) log since the last read."""
    entries: list[dict[str, Any]] = driver.get_log(kind)  # type: ignore[no-untyped-call]  # untyped in Selenium
    return entries


def tiles_settled(driver: WebDriver) -> bool:
    """Whether the page shows its tiles and none is still loading."""
    states = driver.execute_script(
        f"return [...document.querySelectorAll('{_TILES}')].map((tile) => tile.dataset.state)"
    )
    return bool(states) and "loading" not in states


def screenshot(driver: WebDriver, url: str, out: Path) -> Path:
    """Load `url`, wait until every tile is drawn (or shown missing), save the whole page as a PNG."""
    driver.get(url)
    eventually(lambda: tiles_settled(driver), "the dashboard's tiles", timeout=30)
    # The window's height is the page's plus what the window itself takes (the viewport is smaller).
    height = int(driver.execute_script(
        "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight"
    ))  # fmt: skip
    driver.set_window_size(driver.get_window_size()["width"], height)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(out)):
        raise procs.StackError(f"Chromium could not save {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Save a screenshot of the dashboard (a running one, or one started over var/ for the purpose)."""
    parser = argparse.ArgumentParser(prog="python -m tooling.browser", description=main.__doc__)
    parser.add_argument("--url", help="a running dashboard's page (default: start one over var/)")
    parser.add_argument("--out", type=Path, default=project_root() / "docs" / "dashboard.png")
    args = parser.parse_args(argv)
    driver = chromium()
    try:
        if args.url:
            sys.stdout.write(f"{screenshot(driver, args.url, args.out)}\n")
            return 0
        from tooling.stack import Stack, StackConfig  # noqa: PLC0415 - loads the Azure SDKs

        only = (AppSpec(names.DASHBOARD, "functions.dashboard.app", protocol="http"),)
        with Stack(StackConfig(root=var_dir(), apps=only)) as stack:
            sys.stdout.write(f"{screenshot(driver, stack.dashboard_url, args.out)}\n")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
