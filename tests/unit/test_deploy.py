"""Offline checks of what ships: the image recipe, its build context, the wheel, the CI workflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tooling.paths import project_root

ROOT = project_root()
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def test_the_image_runs_one_function_as_a_non_root_user_with_exec() -> None:
    """USER is a numeric non-root id, FUNCTION names the app, and the entrypoint execs it as PID 1."""
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\d+):(\d+)$", text, re.MULTILINE)
    assert users, "no numeric USER"
    assert all(int(uid) > 0 and int(gid) > 0 for uid, gid in users)
    assert "ARG FUNCTION=payment_retry" in text
    assert 'exec python -m \\"functions.${FUNCTION}.app\\"' in text
    apps = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))
    assert "payment_retry" in apps
    assert "email_webhook" in apps


def test_the_build_context_holds_the_package_only() -> None:
    """.dockerignore keeps the package sources, the lock and the page's sources: no tests, state or venv."""
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert sorted(line for line in lines if line.startswith("!")) == [
        "!README.md", "!bindings/", "!functions/", "!pyproject.toml", "!requirements.lock", "!tools/uv.txt",
        "!web/dashboard/package-lock.json", "!web/dashboard/package.json", "!web/dashboard/src/",
    ]  # fmt: skip


def _image_sources() -> list[str]:
    """The source folders the Dockerfile copies into its build stage (`COPY x ./x`)."""
    return re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel the image installs, built from what the Dockerfile copies (not from the checkout)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "src"  # setuptools writes build/ beside the sources: keep it out of the checkout
    for name in _image_sources():
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "slices"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = tmp_path.glob("bindery-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_templates_catalogs_policies_and_fonts(wheel: zipfile.ZipFile) -> None:
    """A non-editable install (the image's) has every file the functions read at run time."""
    names = set(wheel.namelist())
    shipped = [
        path.relative_to(ROOT).as_posix()
        for pattern in ("functions/email_send/templates/**/*.j2", "functions/email_send/catalog/*.toml",
                        "functions/payment_retry/policies/*/*.toml", "functions/receipt_render/fonts/*",
                        "functions/receipt_render/labels.toml", "functions/common/iso4217.toml")
        for path in ROOT.glob(pattern)
        if path.is_file()  # not fonts/slices/, which `make setup` and the image build cut
    ]  # fmt: skip
    assert shipped
    assert sorted(set(shipped) - names) == []
    assert not [name for name in names if name.startswith("tests/")]


def test_the_image_carries_no_tooling_and_none_of_its_dependencies(wheel: zipfile.ZipFile) -> None:
    """No local tooling, sandbox or `bindery` command in the wheel; pyyaml and aiosmtpd are not installed."""
    names = wheel.namelist()
    assert sorted(_image_sources()) == ["bindings", "functions"]
    assert not [
        name for name in names if name.startswith("tooling/") or "sandbox" in name or "simulat" in name
    ]
    assert not [name for name in names if name.endswith("entry_points.txt")]
    wanted = _closure(_requirements(wheel, extras={"azure"}))  # the image installs `.[azure]`
    assert "requests" in wanted  # the closure is followed (sendgrid -> python-http-client; azure -> requests)
    assert not {"pyyaml", "aiosmtpd", "azure-storage-queue", "bindery-tooling"} & wanted


def _requirements(wheel: zipfile.ZipFile, *, extras: set[str]) -> list[Requirement]:
    """The wheel's own requirements, with the given extras."""
    (metadata,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    found = [
        Requirement(line.removeprefix("Requires-Dist: "))
        for line in lines
        if line.startswith("Requires-Dist: ")
    ]
    return [
        r for r in found if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras | {""})
    ]


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution those requirements install, followed through the virtualenv's installed metadata."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for extra in requirement.extras or {""}:
            for line in metadata.requires(name) or []:
                child = Requirement(line)
                if child.marker is None or child.marker.evaluate({"extra": extra}):
                    todo.append(child)
    return seen
