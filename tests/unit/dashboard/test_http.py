"""The dashboard's HTTP side over an in-memory tiles store: the page, its files, the catalogue, the tiles."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bindings.errors import TransientError
from bindings.ports import StateItem
from bindings.testing import MemoryStateStore
from functions.common.tiles import Figure, Kpi, Spec, Tile
from functions.dashboard.app import DashboardServer, DashboardSettings
from functions.dashboard.static import Assets

CATALOGUE = (
    Spec(id="recovery-rate", title="Recovery rate", template="kpi", refresh_seconds=60, ttl_seconds=600),
    Spec(id="missing", title="Never built", template="table", refresh_seconds=60, ttl_seconds=600),
)
TILE = Tile(
    id="recovery-rate", title="Recovery rate", generated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    refresh_seconds=60, data=Kpi(figure=Figure(value=0.5, display="50.0 %")),
)  # fmt: skip


class FailingStore(MemoryStateStore):
    """A tiles store whose sidecar does not answer."""

    def get(self, key: str) -> StateItem:
        """Fail as the Dapr client does when daprd is down."""
        raise TransientError(f"get state {key!r}: the Dapr sidecar is not answering")


def built(tmp_path: Path) -> Path:
    """A build folder with the page, one script and a secret beside it."""
    (tmp_path / "build" / "static" / "deep").mkdir(parents=True)
    (tmp_path / "build" / "index.html").write_text("<!doctype html><title>dashboard</title>")
    (tmp_path / "build" / "static" / "main.js").write_text("console.log(1)")
    (tmp_path / "build" / "static" / "deep" / "a.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("not served")
    (tmp_path / "build" / "static" / "link.js").symlink_to(tmp_path / "secret.txt")
    return tmp_path / "build"


def serving(server: DashboardServer) -> Iterator[int]:
    """Serve in a thread; yield the port."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    """A dashboard over a store holding one built tile."""
    store = MemoryStateStore()
    store.save(TILE.key, TILE.model_dump_json().encode())
    yield from serving(DashboardServer(("127.0.0.1", 0), store, CATALOGUE, Assets(built(tmp_path))))


def get(port: int, path: str) -> tuple[int, str, bytes]:
    """GET `path`: the status, the content type and the body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


def test_the_page_and_its_built_files_are_served(port: int) -> None:
    """`/` is index.html; `/static/...` a file of the build's static folder, with its content type."""
    assert get(port, "/") == (200, "text/html; charset=utf-8", b"<!doctype html><title>dashboard</title>")
    assert get(port, "/static/main.js")[:2] == (200, "text/javascript; charset=utf-8")
    assert get(port, "/static/deep/a.css") == (200, "text/css; charset=utf-8", b"body{}")


@pytest.mark.parametrize(
    "path",
    ["/static/../../secret.txt", "/static/%2e%2e/index.html", "/static/../index.html", "/static/.hidden",
     "/static/link.js", "/static/", "/static/deep", "/static/nothing.js", "/secret.txt"],
)  # fmt: skip
def test_nothing_outside_the_static_folder_is_served(port: int, path: str) -> None:
    """Parent segments, hidden names, links out, folders and unknown files are 404."""
    status, content_type, body = get(port, path)
    assert (status, content_type) == (404, "application/json")
    assert b"not served" not in body


def test_the_catalogue_lists_every_tile_with_its_template_and_intervals(port: int) -> None:
    """`/api/tiles` is the catalogue as JSON: id, title, template, refresh_seconds, ttl_seconds."""
    status, content_type, body = get(port, "/api/tiles")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == [spec.model_dump() for spec in CATALOGUE]


def test_a_built_tile_is_served_as_it_was_stored(port: int) -> None:
    """`/api/tiles/{id}` answers the stored tile's JSON, which reads back as the same Tile."""
    status, content_type, body = get(port, "/api/tiles/recovery-rate")
    assert (status, content_type) == (200, "application/json")
    assert Tile.model_validate_json(body) == TILE


@pytest.mark.parametrize(("tile_id", "error"), [("missing", "no data yet"), ("nope", "unknown tile")])
def test_an_absent_or_unknown_tile_is_404_with_a_small_json_body(port: int, tile_id: str, error: str) -> None:
    """A catalogue tile with no stored value (never built, or expired) and an unknown id are 404."""
    status, _, body = get(port, f"/api/tiles/{tile_id}")
    assert (status, json.loads(body)) == (404, {"error": error, "id": tile_id})


def test_a_store_that_does_not_answer_is_503(tmp_path: Path) -> None:
    """When daprd fails the tile read, the tile's request is 503; the page and the catalogue still load."""
    server = DashboardServer(("127.0.0.1", 0), FailingStore(), CATALOGUE, Assets(built(tmp_path)))
    for port in serving(server):
        assert get(port, "/api/tiles/recovery-rate")[0] == 503
        assert get(port, "/api/tiles")[0] == 200
        assert get(port, "/healthz")[0] == 204


def test_an_unbuilt_page_is_503_naming_the_setup(tmp_path: Path) -> None:
    """Without a build the page answers 503 saying to run `make setup`, rather than hanging or crashing."""
    server = DashboardServer(("127.0.0.1", 0), MemoryStateStore(), CATALOGUE, Assets(tmp_path / "none"))
    for port in serving(server):
        status, _, body = get(port, "/")
        assert status == 503
        assert b"make setup" in body


def test_the_settings_are_read_once_from_the_environment(tmp_path: Path) -> None:
    """APP_PORT, WEBHOOK_HOST and DASHBOARD_ASSETS; an unset folder is the checkout's build."""
    settings = DashboardSettings.from_env({"APP_PORT": "9", "DASHBOARD_ASSETS": str(tmp_path)})
    assert settings == DashboardSettings(address=("127.0.0.1", 9), assets=tmp_path)
    assert DashboardSettings.from_env({}).assets.parts[-3:] == ("web", "dashboard", "build")
