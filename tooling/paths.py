"""Where the project, its run state and its caches live."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def project_root() -> Path:
    """Return the checkout root: `$BINDERY_ROOT`, or the folder holding this package."""
    if explicit := os.environ.get("BINDERY_ROOT"):
        return Path(explicit).resolve()
    return Path(__file__).resolve().parents[1]


def var_dir() -> Path:
    """Return the run-state folder (logs, mail capture, demo output): `$BINDERY_VAR` or `<root>/var`."""
    if explicit := os.environ.get("BINDERY_VAR"):
        return Path(explicit).resolve()
    return project_root() / "var"


def cache_dir() -> Path:
    """Return the per-user cache for builds and tools: `$BINDERY_CACHE` or `~/.cache/bindery`."""
    if explicit := os.environ.get("BINDERY_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bindery"


def files_digest(folder: Path, names: tuple[str, ...]) -> str:
    """A short digest of the named files under `folder`, names and contents: the cache key of a build."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]
