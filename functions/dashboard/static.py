"""The built page's files: found only under the build folder, each with its content type.

`web/dashboard` builds into `build/` (`npm ci && npm run build`, run by `make setup`): `index.html`
and `static/` (the bundled script and styles). A request names a file under `static/` with plain
segments only: no `..`, no hidden names, no backslashes, and the resolved file must still lie
inside the folder (a symbolic link out of it is refused too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def checkout_build() -> Path:
    """The build folder of a checkout (`web/dashboard/build`), where `make setup` builds the page."""
    return Path(__file__).resolve().parents[2] / "web" / "dashboard" / "build"


class Assets:
    """The files of one build folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @property
    def page(self) -> Path:
        """The page itself."""
        return self.root / "index.html"

    def find(self, relative: str) -> Path | None:
        """The file `static/{relative}` names, or None when it is not a served file."""
        segments = relative.split("/")
        if not relative or not all(_SEGMENT.match(segment) for segment in segments):
            return None
        static = self.root / "static"
        path = static.joinpath(*segments).resolve()
        if not path.is_relative_to(static.resolve()) or not path.is_file():
            return None
        return path if path.suffix in TYPES else None

    @staticmethod
    def content_type(path: Path) -> str:
        """The file's content type, by its suffix."""
        return TYPES[path.suffix]
