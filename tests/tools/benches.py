"""The bench scripts, imported as modules for the tests of the bench harness."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from tooling.paths import project_root

if TYPE_CHECKING:
    from types import ModuleType


def bench_module(name: str) -> ModuleType:
    """`bench/<name>.py` as a module (the benches are scripts that import their siblings)."""
    folder = str(project_root() / "bench")
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)
