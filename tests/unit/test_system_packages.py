"""tools/system-packages stops first with the exact command when it cannot install what a command needs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tooling.paths import project_root

SCRIPT = project_root() / "tools" / "system-packages"
# What the script itself runs, from the real system; the programs it looks for are left out on purpose,
# or stubbed (npm, go, redis-server): the unit tests need neither Node, Go nor Redis on the machine.
BASICS = ("bash", "env", "grep", "sed", "sort", "head", "dirname", "make")
GO_NEEDED = re.search(r"^go ([0-9.]+)$", (project_root() / "deploy/daprd/go.mod").read_text(), re.MULTILINE)


def path_with(tmp_path: Path, *, uid: int, apt: bool, go: str | None = None, redis: bool = True) -> str:
    """A PATH of the basics, an `id` reporting `uid`, apt-get if `apt`, a Go `go`, redis-server if `redis`."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in BASICS:
        found = shutil.which(name)
        assert found, name
        (folder / name).symlink_to(found)
    assert GO_NEEDED
    stubs = {
        "id": f"#!/bin/sh\necho {uid}\n",
        "npm": "#!/bin/sh\necho 10.8.2\n",
        "go": f"#!/bin/sh\necho go{go or GO_NEEDED[1]}\n",  # `go env GOVERSION`
    }
    if redis:
        stubs["redis-server"] = "#!/bin/sh\necho Redis server v=7.0.15\n"
    if apt:
        stubs["apt-get"] = "#!/bin/sh\necho apt-get must not run here >&2\nexit 99\n"
    (folder / "python3").symlink_to(Path(sys.executable).resolve())  # not a shim that needs more
    for name, text in stubs.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return str(folder)


def run(profile: str, path: str) -> subprocess.CompletedProcess[str]:
    """The script for `profile` with only `path` to find programs on."""
    return subprocess.run(
        ["bash", str(SCRIPT), profile], env={**os.environ, "PATH": path, "PYTHON": "python3"},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_a_user_without_root_gets_the_exact_apt_command_and_nothing_runs(tmp_path: Path) -> None:
    """Not root, with apt: exit 1 before anything else, naming `sudo apt-get install -y` and the packages."""
    done = run("test", path_with(tmp_path, uid=1000, apt=True))
    assert done.returncode == 1
    command = next(line for line in done.stderr.splitlines() if "sudo apt-get install -y" in line)
    for package in ("poppler-utils", "default-jre-headless", "maven", "chromium", "chromium-driver"):
        assert package in command.split(), (package, command)
    assert "apt-get must not run" not in done.stderr


def test_without_apt_the_missing_programs_are_named(tmp_path: Path) -> None:
    """On a system without apt-get the stop names what is missing, by Debian package, for the user's own."""
    done = run("test", path_with(tmp_path, uid=0, apt=False))
    assert done.returncode == 1
    assert "use your system's packages" in done.stderr
    assert "poppler-utils" in done.stderr


def test_the_demo_needs_none_of_the_test_packages(tmp_path: Path) -> None:
    """`make demo` goes on without PostgreSQL, pdftoppm, Java or Maven."""
    done = run("demo", path_with(tmp_path, uid=1000, apt=True))
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("profile", ["demo", "test"])
def test_both_profiles_name_redis_server_when_it_is_missing(tmp_path: Path, profile: str) -> None:
    """The stack's pub/sub broker is Debian's redis-server: without one, both profiles ask for the package."""
    done = run(profile, path_with(tmp_path, uid=1000, apt=True, redis=False))
    assert done.returncode == 1
    command = next(line for line in done.stderr.splitlines() if "sudo apt-get install -y" in line)
    assert "redis-server" in command.split(), command


def test_a_go_older_than_the_daprd_module_needs_is_named_with_both_versions(tmp_path: Path) -> None:
    """The daprd module names the least Go release; an older one stops setup saying which is needed."""
    go_mod = (project_root() / "deploy" / "daprd" / "go.mod").read_text()
    needed = re.search(r"^go (\S+)$", go_mod, re.MULTILINE)
    assert needed
    done = run("demo", path_with(tmp_path, uid=1000, apt=True, go="1.21.0"))
    assert done.returncode == 1
    assert f"Go {needed.group(1)} or newer on the PATH (found 1.21.0)" in done.stderr
