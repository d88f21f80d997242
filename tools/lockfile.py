"""The Python lock: `requirements.lock` pins every runtime, dev and build dependency with hashes.

`pyproject.toml` keeps the compatible ranges; the lock decides what is installed. Its first line
records a digest of the requirements it was made from, so a range changed without `make lock`
is caught before anything is installed. Standard library only: it runs before the virtualenv exists.

    python3 tools/lockfile.py check             # the lock was made from pyproject.toml's requirements
    python3 tools/lockfile.py lock UV [--upgrade]  # (make lock) resolve again, keeping pins unless --upgrade
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
DIGEST_PREFIX = "# requirements digest: "
# The oldest Python the project supports: the universal lock holds what every newer one needs too.
PYTHON = "3.11"


def requirements(pyproject: Path = PYPROJECT) -> dict[str, object]:
    """The requirements a lock is made from: Python, dependencies, every extra, the build backend."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    extras = project.get("optional-dependencies", {})
    return {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {name: sorted(reqs) for name, reqs in sorted(extras.items())},
        "build-system": sorted(data.get("build-system", {}).get("requires", [])),
    }


def digest(pyproject: Path = PYPROJECT) -> str:
    """A digest of `requirements()`: comments and formatting in pyproject.toml do not change it."""
    text = json.dumps(requirements(pyproject), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def recorded(lock: Path = LOCK) -> str | None:
    """The digest written in the lock's first line, or None when there is no lock or no digest."""
    if not lock.is_file():
        return None
    first = lock.read_text(encoding="utf-8").partition("\n")[0]
    return first.removeprefix(DIGEST_PREFIX).strip() if first.startswith(DIGEST_PREFIX) else None


def problem(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> str | None:
    """Why the lock does not match pyproject.toml, or None when it does."""
    found = recorded(lock)
    if found is None:
        return f"{lock.name} is missing or has no requirements digest: run `make lock` and commit {lock.name}"
    if found != digest(pyproject):
        return (
            f"{pyproject.name}'s requirements changed since {lock.name} was made: run `make lock` "
            f"(it keeps every other pin) and commit {lock.name}"
        )
    return None


def lock(uv: str, *, upgrade: bool) -> None:
    """Resolve pyproject.toml (every extra and the build backend) into the lock, with hashes."""
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp) / "build-system.in"
        build.write_text("\n".join(requirements()["build-system"]) + "\n")  # type: ignore[arg-type]
        argv = [
            uv, "pip", "compile", "--quiet", str(PYPROJECT.name), str(build), "--all-extras",
            "--universal", "--generate-hashes", "--python-version", PYTHON,
            "--custom-compile-command", "make lock", "--output-file", LOCK.name,
        ]  # fmt: skip
        if upgrade:
            argv.append("--upgrade")
        subprocess.run(argv, cwd=ROOT, check=True)
    body = LOCK.read_text(encoding="utf-8").replace(str(build), "build-system.in")
    LOCK.write_text(f"{DIGEST_PREFIX}{digest()}\n{body}", encoding="utf-8")


def main(argv: list[str]) -> int:
    """Run `check` or `lock UV [--upgrade]`; print what to do on failure."""
    if argv[:1] == ["check"]:
        if message := problem():
            print(f"lock: {message}", file=sys.stderr)  # noqa: T201 - the command's output
            return 1
        return 0
    if argv[:1] == ["lock"] and len(argv) >= 2:  # noqa: PLR2004 - the command and uv's path
        lock(argv[1], upgrade="--upgrade" in argv[2:])
        return 0
    print(__doc__, file=sys.stderr)  # noqa: T201 - usage
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
