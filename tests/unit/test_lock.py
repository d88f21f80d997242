"""requirements.lock decides what is installed: it matches pyproject.toml, and the virtualenv holds it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tooling import azurite, tools
from tooling.paths import project_root

ROOT = project_root()
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


@dataclass
class Pin:
    """One locked entry: a version, the marker it applies under, how many hashes it carries."""

    version: str
    marker: str | None
    hashes: int = 0

    def applies(self) -> bool:
        """Whether this entry is for the running interpreter and platform."""
        return self.marker is None or Marker(self.marker).evaluate()


def pins() -> dict[str, list[Pin]]:
    """Each locked package's entries, by canonical name."""
    found: dict[str, list[Pin]] = {}
    entry: Pin | None = None
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            entry = Pin(match.group(2), match.group(3))
            found.setdefault(canonicalize_name(match.group(1)), []).append(entry)
        elif line.strip().startswith("--hash=sha256:") and entry is not None:
            entry.hashes += 1
    return found


def applicable(entries: list[Pin]) -> str | None:
    """The version a package's entries give on this interpreter and platform, None if none applies."""
    versions = [pin.version for pin in entries if pin.applies()]
    assert len(versions) <= 1, versions
    return versions[0] if versions else None


def declared() -> list[Requirement]:
    """Every requirement pyproject.toml declares: dependencies, all extras and the build backend."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    texts = [*data["project"]["dependencies"], *data["build-system"]["requires"]]
    for extra in data["project"]["optional-dependencies"].values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    """`tools/lockfile.py check` as make runs it, in the checkout at `root`."""
    return subprocess.run(
        [sys.executable, str(root / "tools" / "lockfile.py"), "check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files the lock check reads."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "lockfile.py", tmp_path / "tools" / "lockfile.py")
    for name in ("pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_lock_was_made_from_pyprojects_requirements() -> None:
    """The committed lock passes the check that `make setup` and `make lint` run."""
    done = run_check(ROOT)
    assert done.returncode == 0, done.stderr


def test_a_range_changed_without_make_lock_fails_the_check_saying_what_to_do(checkout: Path) -> None:
    """Editing a version range without relocking stops setup with `run make lock`."""
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"babel>=2.14"', '"babel>=2.15"'))
    done = run_check(checkout)
    assert done.returncode == 1
    assert "requirements changed since requirements.lock was made: run `make lock`" in done.stderr


def test_comments_and_formatting_do_not_invalidate_the_lock(checkout: Path) -> None:
    """Only requirements count: a comment or a reordered list keeps the lock valid."""
    pyproject = checkout / "pyproject.toml"
    text = pyproject.read_text().replace('    "babel>=2.14",\n', "")
    text = text.replace(
        '    "sendgrid>=6.11",\n', '    "sendgrid>=6.11",\n    # a comment\n    "babel>=2.14",\n'
    )
    assert "# a comment" in text
    pyproject.write_text(text)
    assert run_check(checkout).returncode == 0


def test_a_lock_without_its_digest_fails_the_check(checkout: Path) -> None:
    """A lock written by hand or by another tool is refused, with the command that makes one."""
    lock = checkout / "requirements.lock"
    lock.write_text(lock.read_text().partition("\n")[2])
    done = run_check(checkout)
    assert done.returncode == 1
    assert "no requirements digest: run `make lock`" in done.stderr


def test_every_declared_requirement_is_locked_within_its_range_with_hashes() -> None:
    """Each requirement of pyproject.toml has a locked version inside its range, and every pin has hashes."""
    locked = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, requirement
        version = applicable(locked[name])
        assert version is not None, requirement
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
    assert all(pin.hashes > 0 for entries in locked.values() for pin in entries)


def test_the_virtualenv_holds_exactly_the_locked_versions() -> None:
    """What `make setup` installed is the lock: every locked package at its version, nothing unlocked."""
    installed: dict[str, str] = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    expected = {name: version for name, entries in pins().items() if (version := applicable(entries))}
    extra = {
        "pip",
        "uv",
        "bindery",
        "bindery-tooling",
    }  # the installers (pip, tools/uv.txt), the two projects
    assert {name: installed.get(name) for name in expected} == expected
    assert sorted(set(installed) - set(expected) - extra) == []


def test_the_image_installs_from_the_lock() -> None:
    """The image installs uv by hash, then the package constrained by the lock, build backend included."""
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r tools/uv.txt" in text
    assert "--constraint requirements.lock --build-constraint requirements.lock" in text
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert {"!requirements.lock", "!tools/uv.txt"} <= set(ignore)


def test_the_tool_locks_pin_what_the_code_names() -> None:
    """uv, checkov and Azurite are locked at the versions the setup and the tools module name."""
    uv = Path(sys.executable).with_name("uv")
    shown = subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"uv=={shown.split()[1]} \\" in (ROOT / "tools" / "uv.txt").read_text().splitlines()
    assert f"checkov=={tools.CHECKOV} \\" in (ROOT / "tools" / "checkov.txt").read_text().splitlines()
    lock = json.loads((azurite.source_dir() / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == {"azurite": azurite.version()}
    assert lock["packages"]["node_modules/azurite"]["version"] == azurite.version()
    assert all("integrity" in entry for name, entry in lock["packages"].items() if name)
