"""The dashboard in a real browser: headless Chromium over the dashboard, its sidecar and the `tiles` store.

Tiles are written straight into the `tiles` store through the dashboard's own daprd (the state API), as
the tile builder writes them; the page is loaded with `?every=1` so each tile is fetched every second.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By

from functions.common import names
from functions.common.tiles import CATALOGUE, Bar, Bars, Figure, Kpi, Line, Series, Spec, Table, Tile
from functions.tile_builder import refresh
from functions.tile_builder.case_builders import PENDING
from tooling import browser
from tooling.sidecar import AppSpec
from tooling.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from selenium.webdriver.chrome.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

    from tooling.stack import Stack

DASHBOARD = AppSpec(names.DASHBOARD, "functions.dashboard.app", protocol="http")
# One tile of the catalogue is never built, one is old enough to be stale, one is deleted, one expires.
MISSING, STALE, DELETED, EXPIRING = (spec.id for spec in CATALOGUE[:4])


def sample(spec: Spec, number: int, *, age: timedelta = timedelta(0)) -> Tile:
    """A built tile for `spec`, with figures of its own (`display` as Python formats them)."""
    shown = [Figure(value=number * 10 + i, display=f"€{number},{i}34.5{i}") for i in range(4)]
    data: Kpi | Series | Bars | Table
    if spec.template == "kpi":
        data = Kpi(
            figure=shown[3], note=f"note {number}", trend=tuple(shown), trend_labels=("d1", "d2", "d3", "d4")
        )
    elif spec.template == "series":
        x = ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04")
        data = Series(
            x=x,
            lines=(Line(label="EUR", figures=tuple(shown)), Line(label="USD", figures=tuple(shown[::-1]))),
        )
    elif spec.template == "bars":
        data = Bars(
            bars=tuple(Bar(label=f"reason {i}", figure=figure) for i, figure in enumerate(shown[::-1])),
            note=f"note {number}",
        )
    else:  # the builder's own columns, each cell as wide as they come: money marked pending
        empty = refresh.build(spec, {}, datetime.now(UTC)).data
        assert isinstance(empty, Table)
        columns = empty.columns
        rows = tuple(
            (f"row {i}", *(f"{shown[(i + n) % 4].display}{PENDING}" for n in range(len(columns) - 1)))
            for i in range(4)
        )
        data = Table(columns=columns, rows=rows, note=f"note {number}")
    generated = datetime.now(UTC) - age
    return Tile(
        id=spec.id, title=spec.title, generated_at=generated, refresh_seconds=spec.refresh_seconds, data=data
    )


def sidecar(stack: Stack, method: str, path: str, body: Any = None) -> Any:
    """Call the dashboard's daprd HTTP API; the JSON answer, or None for an empty one."""
    running = stack.apps[names.DASHBOARD]
    request = urllib.request.Request(
        f"http://127.0.0.1:{running.ports.http}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "dapr-api-token": stack.dapr_token or ""},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        text = answer.read()
    return json.loads(text) if text else None


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """The dashboard and its sidecar, every catalogue tile but MISSING written (STALE three intervals old)."""
    started = stack_factory(apps=[DASHBOARD])
    items = []
    for number, spec in enumerate(CATALOGUE):
        if spec.id == MISSING:
            continue
        age = timedelta(seconds=3 * spec.refresh_seconds) if spec.id == STALE else timedelta(0)
        item = {"key": f"tile:{spec.id}", "value": sample(spec, number, age=age).model_dump(mode="json")}
        if spec.id == EXPIRING:
            item["metadata"] = {"ttlInSeconds": "4"}  # the store's own TTL, as the builder sets it
        items.append(item)
    sidecar(started, "POST", f"/v1.0/state/{names.TILES}", items)
    return started


@pytest.fixture(scope="module")
def page(stack: Stack) -> Iterator[WebDriver]:
    """Chromium on the page, once every tile has been fetched and drawn (or shown missing)."""
    driver = browser.chromium()
    try:
        driver.get(f"{stack.dashboard_url}?every=1")
        eventually(lambda: browser.tiles_settled(driver), "every tile fetched", timeout=30)
        yield driver
    finally:
        driver.quit()


def tile(driver: WebDriver, tile_id: str) -> WebElement:
    """The tile's section."""
    return driver.find_element(By.CSS_SELECTOR, f'.tile[data-tile="{tile_id}"]')


def shows_missing(driver: WebDriver, tile_id: str) -> bool:
    """Whether the tile shows itself missing (fetched and answered 404)."""
    return tile(driver, tile_id).get_attribute("data-state") == "missing"


def texts(element: WebElement, selector: str) -> list[str]:
    """The text of every element under `element` that `selector` finds.

    Found and read in one script: the page redraws a tile's body every second (`?every=1`), so an
    element found by one call may be gone by the next.
    """
    script = "return [...arguments[0].querySelectorAll(arguments[1])].map((n) => n.innerText.trim())"
    return [str(text) for text in element.parent.execute_script(script, element, selector)]


def fits(driver: WebDriver, selector: str) -> bool:
    """Whether the content of what `selector` finds fits its width (nothing overflows, nothing to scroll).

    Found and measured in one script: the page redraws a tile's body every second.
    """
    script = "const n = document.querySelector(arguments[0]); return !!n && n.scrollWidth <= n.clientWidth"
    return bool(driver.execute_script(script, selector))


def test_the_sidecar_loads_the_tiles_store_and_no_case_store(stack: Stack) -> None:
    """Viewing the page cannot reach the cases: the dashboard's daprd loads `tiles`, its only state store."""
    loaded = sidecar(stack, "GET", "/v1.0/metadata")["components"]
    stores = sorted(c["name"] for c in loaded if c["type"].startswith("state."))
    assert stores == [names.TILES]
    assert names.STATESTORE not in {c["name"] for c in loaded}


def test_every_built_tile_is_drawn_with_its_template_and_its_display_figures(page: WebDriver) -> None:
    """Each catalogue tile shows its template; figures read exactly the tile's `display` text; charts draw."""
    for number, spec in enumerate(CATALOGUE):
        if spec.id in {MISSING, EXPIRING}:
            continue
        section, data = tile(page, spec.id), sample(spec, number).data
        assert (section.get_attribute("data-template"), section.get_attribute("data-state")) == (
            spec.template,
            "ok",
        )
        assert section.find_element(By.TAG_NAME, "h2").text == spec.title
        if isinstance(data, Kpi):
            assert texts(section, ".body > .figure") == [data.figure.display]
            assert section.find_elements(By.CSS_SELECTOR, ".trend canvas")
        elif isinstance(data, Series):
            assert texts(section, ".figures .figure") == [line.figures[-1].display for line in data.lines]
            assert section.find_elements(By.CSS_SELECTOR, ".chart canvas")
        elif isinstance(data, Bars):
            assert texts(section, ".figures .figure") == [bar.figure.display for bar in data.bars]
            assert section.find_elements(By.CSS_SELECTOR, ".chart canvas")
        else:
            assert texts(section, "th") == list(data.columns)
            assert texts(section, "td") == [cell for row in data.rows for cell in row]
            assert fits(page, f'.tile[data-tile="{spec.id}"] .scroll')  # the widest table: no scrolling
        if not isinstance(data, Series):
            assert texts(section, ".body > .note") == [data.note]
        assert fits(page, f'.tile[data-tile="{spec.id}"]')
        assert section.find_element(By.CSS_SELECTOR, ".age").text.startswith("built ")


def test_a_tile_never_built_shows_no_data_yet(page: WebDriver) -> None:
    """The tile absent from the store shows "no data yet", and the page around it is whole."""
    section = tile(page, MISSING)
    assert section.get_attribute("data-state") == "missing"
    assert section.find_element(By.CSS_SELECTOR, ".body").text == "no data yet"


def test_a_tile_older_than_twice_its_interval_is_marked_stale(page: WebDriver) -> None:
    """STALE was built three intervals ago: marked stale; the fresh tiles are not."""
    section = tile(page, STALE)
    assert section.get_attribute("data-stale") == "true"
    assert "stale" in section.find_element(By.CSS_SELECTOR, ".age").text
    fresh = {spec.id for spec in CATALOGUE} - {MISSING, STALE, DELETED, EXPIRING}
    assert {tile(page, tile_id).get_attribute("data-stale") for tile_id in fresh} == {"false"}


def test_a_deleted_or_expired_tile_turns_into_no_data_yet_on_its_next_fetch(
    stack: Stack, page: WebDriver
) -> None:
    """DELETED's key is deleted, EXPIRING's TTL runs out in the store: both read "no data yet" next fetch."""
    sidecar(stack, "DELETE", f"/v1.0/state/{names.TILES}/tile:{DELETED}")
    for tile_id in (DELETED, EXPIRING):
        eventually(partial(shows_missing, page, tile_id), f"{tile_id} shown missing")
        assert tile(page, tile_id).find_element(By.CSS_SELECTOR, ".body").text == "no data yet"


def test_the_page_logs_no_console_error_and_asks_only_the_dashboard(stack: Stack, page: WebDriver) -> None:
    """No SEVERE console entry but the absent tiles' 404s; every request of the page went to the dashboard."""
    absent = tuple(f"/api/tiles/{tile_id} " for tile_id in (MISSING, DELETED, EXPIRING))
    severe = [e["message"] for e in browser.log(page, "browser") if e["level"] == "SEVERE"]
    assert [m for m in severe if not (any(a in m for a in absent) and "404" in m)] == []
    origin = urlsplit(stack.dashboard_url).netloc
    requested = {
        message["params"]["request"]["url"]
        for entry in browser.log(page, "performance")
        if (message := json.loads(entry["message"])["message"])["method"] == "Network.requestWillBeSent"
    }
    assert requested
    assert {urlsplit(url).netloc for url in requested if not url.startswith("data:")} == {origin}
