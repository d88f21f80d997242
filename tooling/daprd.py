"""Find or build the official daprd with exactly Bindery's component set.

Which daprd: `daprd_builds.select` picks the Go module (`deploy/daprd/`, the default, or
`deploy/daprd-aca/`, the Dapr line Azure Container Apps runs) from the `choice` argument or
`$BINDERY_DAPR`. Order of preference: `$DAPRD`, `daprd` on PATH, `~/.dapr/bin/daprd` (when its
version is in the selected build's minor series), then a cached build of that module, built on
first use; builds of each module are cached side by side, keyed by version and content. A build
copies the pinned dapr module out of the Go module cache and replaces one upstream file,
`cmd/daprd/components/zz_notag.go`, which panics when neither the stablecomponents nor the
allcomponents tag is set, with an empty package file: the runtime then registers only what the
module's `components.go` registers.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tooling.daprd_builds import Build, DaprdError, select
from tooling.paths import cache_dir

__all__ = [
    "Build",
    "DaprdError",
    "build",
    "build_key",
    "find_or_build",
    "pinned_version",
    "registered_types",
    "select",
    "source_dir",
]

_log = logging.getLogger(__name__)

_MODULE = "github.com/dapr/dapr"
_PATCHED_FILE = Path("cmd/daprd/components/zz_notag.go")


def source_dir(choice: str | None = None) -> Path:
    """Return the Go module that builds the selected daprd."""
    return select(choice).source_dir


def pinned_version(choice: str | None = None) -> str:
    """Return the dapr release the selected module pins, e.g. `1.18.2`."""
    return select(choice).pinned_version()


def registered_types(choice: str | None = None) -> frozenset[str]:
    """Return the component types the selected build registers, as `bindings.cron` …."""
    return select(choice).registered_types()


def build_key(choice: str | None = None) -> str:
    """Return the selected build's cache key: its version and a digest of its module."""
    return select(choice).build_key()


def find_or_build(choice: str | None = None) -> Path:
    """Return the path of a usable daprd of the selected build, building and caching it if needed."""
    selected = select(choice)
    for candidate in _user_candidates():
        version = _version_of(candidate)
        if version is not None and selected.accepts(version):
            _log.info("using daprd %s at %s", version, candidate)
            return candidate
        _log.info("skipping daprd at %s: version %s is not %s.x", candidate, version, selected.series())
    return build(selected.name)


def build(choice: str | None = None) -> Path:
    """Build the selected daprd into the cache unless a build for its key is already there."""
    selected = select(choice)
    target_dir = cache_dir() / "daprd" / selected.build_key()
    binary = target_dir / "daprd"
    if binary.is_file():
        return binary
    target_dir.mkdir(parents=True, exist_ok=True)
    with (target_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        _build_into(selected, binary)
    return binary


def _build_into(selected: Build, binary: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise DaprdError("building daprd needs Go (https://go.dev/dl/); or set DAPRD to an existing daprd")
    src = selected.source_dir
    version = selected.pinned_version()
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    module_dir = _module_dir(go, src, version, env)
    with tempfile.TemporaryDirectory(prefix="daprd-build-", dir=binary.parent) as tmp:
        work = Path(tmp)
        patched = work / "dapr"
        shutil.copytree(module_dir, patched)
        for path in (patched, *patched.rglob("*")):
            path.chmod(path.stat().st_mode | 0o200)
        shutil.copyfile(src / "_upstream" / "zz_notag.go", patched / _PATCHED_FILE)
        modfile = work / "build.mod"
        modfile.write_text((src / "go.mod").read_text() + f"\nreplace {_MODULE} => {patched}\n")
        shutil.copyfile(src / "go.sum", work / "build.sum")
        ldflags = (
            f"-s -w -X {_MODULE}/pkg/buildinfo.version={version} "
            f"-X github.com/dapr/kit/logger.DaprVersion={version}"
        )
        output = work / "daprd"
        _log.info("building daprd %s from deploy/%s (first build takes a few minutes)", version, src.name)
        _run(
            [go, "build", "-modfile", str(modfile), "-trimpath", "-ldflags", ldflags, "-o", str(output), "."],
            cwd=src,
            env=env,
        )
        output.replace(binary)


def _module_dir(go: str, src: Path, version: str, env: dict[str, str]) -> Path:
    out = _run([go, "mod", "download", "-json", f"{_MODULE}@v{version}"], cwd=src, env=env)
    info = json.loads(out)
    if info.get("Error"):
        raise DaprdError(f"cannot download {_MODULE}: {info['Error']}")
    return Path(info["Dir"])


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DaprdError(f"{' '.join(argv[:2])} failed:\n{result.stderr.strip()[-4000:]}")
    return result.stdout


def _user_candidates() -> list[Path]:
    found: list[Path] = []
    if explicit := os.environ.get("DAPRD"):
        found.append(Path(explicit))
    if on_path := shutil.which("daprd"):
        found.append(Path(on_path))
    found.append(Path.home() / ".dapr" / "bin" / "daprd")
    return [path for path in found if path.is_file() and os.access(path, os.X_OK)]


def _version_of(binary: Path) -> str | None:
    try:
        result = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = result.stdout.strip() or result.stderr.strip()
    match = re.search(r"(\d+\.\d+\.\d+)", text)
    return match.group(1) if match else None
