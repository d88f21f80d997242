"""dashboard: the operators' page and the tiles it draws, read from the `tiles` store and nothing else.

`GET /` answers the page and `GET /static/...` its built files (only files under the build folder);
`GET /api/tiles` the catalogue (`functions.common.tiles.CATALOGUE`: id, title, template,
refresh_seconds, ttl_seconds) and `GET /api/tiles/{id}` the tile the builder last wrote to the
`tiles` state store under `tile:{id}`, as it was written: 404 with a small JSON body when the tile is
unknown, absent or expired, 503 when the store cannot be read through daprd. `GET /healthz` answers
204. The dashboard never builds a tile and its sidecar loads no other store, so viewing the page never
reaches the cases. Every request is answered (500 for anything unexpected). Settings (read at start):
`APP_PORT`, `WEBHOOK_HOST` (127.0.0.1; 0.0.0.0 in a container), `DASHBOARD_ASSETS` (the build folder).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bindings import client, logs
from bindings.dapr_ports import DaprStateStore
from bindings.errors import BinderyError, SettingsError
from bindings.settings import Setting
from functions.common import names, tiles, webhook_http
from functions.dashboard.static import Assets, checkout_build

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bindings.ports import StateStore

_log = logging.getLogger(__name__)
APP_ID = names.DASHBOARD
store = DaprStateStore(names.TILES)
HOST = Setting("WEBHOOK_HOST", "127.0.0.1", "the address the HTTP server binds (0.0.0.0 in the image)")
PORT = Setting("APP_PORT", "8080", "the port the HTTP server listens on")
ASSETS = Setting(
    "DASHBOARD_ASSETS", "", "the built page's folder; empty: web/dashboard/build of the checkout"
)
SETTINGS = (HOST, PORT, ASSETS, logs.LEVEL, client.SIDECAR_WAIT)
_TILE_PATH = re.compile(r"^/api/tiles/([^/]+)$")
_TILE_ID = re.compile(tiles.TILE_ID)
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class DashboardSettings:
    """The dashboard's settings, read once at start."""

    address: tuple[str, int]
    assets: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DashboardSettings:
        """Read and check the settings; `SettingsError` names a bad one."""
        folder = ASSETS.string(environ)
        address = (HOST.string(environ), PORT.integer(environ))
        return cls(address=address, assets=Path(folder) if folder else checkout_build())


class DashboardServer(webhook_http.WebhookServer):
    """The page, its files and the tiles over a catalogue and the `tiles` store."""

    def __init__(
        self,
        address: tuple[str, int],
        tile_store: StateStore,
        catalogue: Sequence[tiles.Spec],
        assets: Assets,
    ) -> None:
        self.store, self.assets = tile_store, assets
        self.catalogue = {spec.id: spec for spec in catalogue}
        self.catalogue_body = json.dumps([spec.model_dump(mode="json") for spec in catalogue]).encode()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    _answered = False

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # a stalled client must not hold a thread

    def do_GET(self) -> None:
        """Every route; always answered."""
        self._answered = False
        try:
            self._route(urlsplit(self.path).path)
        except Exception:  # noqa: BLE001 - whatever failed, the request still gets an answer
            _log.exception("dashboard request %s failed unexpectedly", self.path)
            if not self._answered:
                with contextlib.suppress(OSError):
                    self._send(500, b'{"error":"unexpected"}', "application/json")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - http.server's signature
        """http.server's access line, at debug level."""
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s", self.address_string(), format % args)

    def _route(self, path: str) -> None:
        if path == "/healthz":
            self._send(204, b"", None)
        elif path in {"/", "/index.html"}:
            self._file(self.server.assets.page, no_build=True)
        elif path.startswith("/static/"):
            found = self.server.assets.find(path.removeprefix("/static/"))
            if found is None:
                self._json(404, {"error": "not found"})
            else:
                self._file(found)
        elif path == "/api/tiles":
            self._send(200, self.server.catalogue_body, "application/json")
        elif match := _TILE_PATH.match(path):
            self._tile(match[1])
        else:
            self._json(404, {"error": "not found"})

    def _tile(self, tile_id: str) -> None:
        if not _TILE_ID.match(tile_id) or tile_id not in self.server.catalogue:
            self._json(404, {"error": "unknown tile", "id": tile_id})
            return
        try:
            item = self.server.store.get(f"{tiles.KEY_PREFIX}{tile_id}")
        except BinderyError as error:
            _log.warning("tile %s not read: %s", tile_id, error)
            self._json(503, {"error": "the tiles store is not answering", "id": tile_id})
            return
        if item.value is None:
            self._json(404, {"error": "no data yet", "id": tile_id})
        else:
            self._send(200, item.value, "application/json")

    def _file(self, path: Path, *, no_build: bool = False) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not no_build:
                raise
            self._send(
                503, b"the dashboard page is not built: run `make setup`\n", "text/plain; charset=utf-8"
            )
            return
        self._send(200, data, Assets.content_type(path))

    def _json(self, status: int, body: dict[str, str]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        self._answered = True
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def serve() -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight."""
    try:
        logs.configure(APP_ID)
        settings = DashboardSettings.from_env(os.environ)
    except SettingsError as error:
        sys.exit(f"dashboard: {error}")
    assets = Assets(settings.assets)
    if not assets.page.is_file():
        _log.warning("the dashboard page is not built (%s): run `make setup`", assets.page)
    server = DashboardServer(settings.address, store, tiles.CATALOGUE, assets)
    _log.info("dashboard listening on http://%s:%d/", *settings.address)
    webhook_http.serve_until_stopped(server)


if __name__ == "__main__":
    serve()
