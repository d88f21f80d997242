"""The layer contracts (pyproject.toml's `[tool.importlinter]`) hold; imports against them fail the lint."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bindings", "functions", "tooling")
LINT = Path(sys.executable).with_name("lint-imports")


def _sources(folder: str, names: list[str]) -> set[str]:
    """What `copytree` leaves out: everything but Python sources and folders."""
    return {name for name in names if not name.endswith(".py") and not (Path(folder) / name).is_dir()}


def _copy(tmp_path: Path) -> Path:
    """The three packages' Python sources and pyproject.toml, in a scratch folder."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_sources)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` over the packages in `folder` (found there first: PYTHONPATH, no cache)."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _add_import(module: Path, statement: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + f"\n{statement}  # noqa\n", encoding="utf-8")


def test_the_repository_keeps_every_contract(tmp_path: Path) -> None:
    """The unchanged sources keep all four contracts."""
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("KEPT") == 4


# (module, import added to it, what the report must name): one per rule of the layers.
FORBIDDEN = [
    ("bindings/errors.py", "import functions.common.names", "bindings.errors -> functions.common.names"),
    ("bindings/app.py", "import tooling.paths", "bindings.app -> tooling.paths"),
    ("functions/common/names.py", "import functions.email_send.sends", "names -> functions.email_send"),
    ("functions/email_send/sends.py", "import functions.payment_retry.model", "functions.payment_retry"),
    ("functions/receipt_render/fields.py", "import dapr.clients", "receipt_render.fields -> dapr"),
    ("functions/common/links.py", "import yaml", "functions.common.links -> yaml"),
]


def test_each_import_against_the_layers_fails_the_lint(tmp_path: Path) -> None:
    """Forbidden imports, added to a copy of the sources, break the contracts, each named in the report."""
    folder = _copy(tmp_path)
    for module, statement, _ in FORBIDDEN:
        _add_import(folder / module, statement)
    result = _lint(folder)
    assert result.returncode != 0
    assert result.stdout.count("BROKEN") == 4, result.stdout
    for _, _, broken in FORBIDDEN:
        assert broken in result.stdout, f"{broken!r} not reported:\n{result.stdout}"
