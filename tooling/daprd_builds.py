"""The daprd builds Bindery knows, and which one is selected.

Two Go modules build the official daprd with the same component set: `deploy/daprd/` (`local`,
the default: the newest Dapr) and `deploy/daprd-aca/` (`aca`: the Dapr line Azure Container Apps
runs, which lags the open-source release and which users cannot pin). `$BINDERY_DAPR` (or the
`choice` argument) selects one by name, by its pinned version or by its minor series:
`local`, `aca`, `1.16`, `1.16.x`, `1.16.5`, `1.18` ….
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings.errors import BinderyError
from tooling.paths import files_digest, project_root

if TYPE_CHECKING:
    from pathlib import Path

ENV = "BINDERY_DAPR"
DEFAULT = "local"

_KEY_FILES = ("go.mod", "go.sum", "main.go", "components.go", "_upstream/zz_notag.go")
_VERSION_RE = re.compile(r"^\s*github\.com/dapr/dapr v(\d+\.\d+\.\d+)\s*$", re.MULTILINE)
_LOADER_RE = re.compile(r"\b(bindings|pubsub|state|secretstores)Loader\.DefaultRegistry\.Register\w+\(")
_TYPE_NAME_RE = re.compile(r'"([a-z][a-z0-9.]*)"')


class DaprdError(BinderyError, RuntimeError):
    """daprd could not be found or built; the message says what to do."""


@dataclass(frozen=True)
class Build:
    """One Go module under deploy/ that builds daprd, and what it pins and registers."""

    name: str
    folder: str

    @property
    def source_dir(self) -> Path:
        """The Go module's folder."""
        return project_root() / "deploy" / self.folder

    def pinned_version(self) -> str:
        """The dapr release its go.mod requires, e.g. `1.18.2`."""
        match = _VERSION_RE.search((self.source_dir / "go.mod").read_text())
        if match is None:
            raise DaprdError(f"deploy/{self.folder}/go.mod does not require github.com/dapr/dapr")
        return match.group(1)

    def series(self) -> str:
        """The pinned release's minor series, e.g. `1.18`."""
        return ".".join(self.pinned_version().split(".")[:2])

    def accepts(self, version: str) -> bool:
        """Whether a daprd reporting `version` is in this build's minor series."""
        return ".".join(version.split(".")[:2]) == self.series()

    def registered_types(self) -> frozenset[str]:
        """The component types its components.go registers, as `bindings.cron`, `state.sqlite` …."""
        text = (self.source_dir / "components.go").read_text()
        calls = list(_LOADER_RE.finditer(text))
        found: set[str] = set()
        for index, call in enumerate(calls):
            stop = calls[index + 1].start() if index + 1 < len(calls) else len(text)
            names = _TYPE_NAME_RE.findall(text[call.end() : stop])
            found.update(f"{call.group(1)}.{name}" for name in names if not re.fullmatch(r"v\d+", name))
        return frozenset(found)

    def build_key(self) -> str:
        """The cache key: the pinned version and a digest of the module and its registrations."""
        return f"{self.pinned_version()}-{files_digest(self.source_dir, _KEY_FILES)}"


BUILDS = (Build("local", "daprd"), Build("aca", "daprd-aca"))


def select(choice: str | None = None) -> Build:
    """The build `choice` names, else `$BINDERY_DAPR`'s, else the default (`local`)."""
    wanted = (choice or os.environ.get(ENV) or DEFAULT).strip().removeprefix("v")
    for build in BUILDS:
        if wanted == build.name:
            return build
    for build in BUILDS:
        if wanted in {build.pinned_version(), build.series(), f"{build.series()}.x"}:
            return build
    known = ", ".join(f"{b.name} ({b.pinned_version()})" for b in BUILDS)
    raise DaprdError(f"no daprd build {wanted!r}: ${ENV} and --version take one of {known} or its series")
