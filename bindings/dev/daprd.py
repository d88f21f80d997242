"""Find or build the official daprd with exactly Bindery's component set.

Order of preference: `$DAPRD`, `daprd` on PATH, `~/.dapr/bin/daprd` (when its version is
in the pinned release's minor series), then a cached build of `deploy/daprd/`, building
it on first use. The build copies the pinned dapr module out of the Go module cache and
replaces one upstream file, `cmd/daprd/components/zz_notag.go`, which panics when neither
the stablecomponents nor the allcomponents tag is set, with an empty package file: the
runtime then registers only what `deploy/daprd/components.go` registers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bindings.dev.paths import cache_dir, project_root

_log = logging.getLogger(__name__)

_MODULE = "github.com/dapr/dapr"
_PATCHED_FILE = Path("cmd/daprd/components/zz_notag.go")
_KEY_FILES = ("go.mod", "go.sum", "main.go", "components.go", "_upstream/zz_notag.go")
_VERSION_RE = re.compile(r"^\s*github\.com/dapr/dapr v(\d+\.\d+\.\d+)\s*$", re.MULTILINE)
_LOADER_RE = re.compile(r"\b(bindings|state|secretstores)Loader\.DefaultRegistry\.Register\w+\(")
_TYPE_NAME_RE = re.compile(r'"([a-z][a-z0-9.]*)"')


class DaprdError(RuntimeError):
    """daprd could not be found or built; the message says what to do."""


def source_dir() -> Path:
    """Return the Go module that builds Bindery's daprd."""
    return project_root() / "deploy" / "daprd"


def pinned_version() -> str:
    """Return the dapr release pinned in `deploy/daprd/go.mod`, e.g. `1.18.2`."""
    match = _VERSION_RE.search((source_dir() / "go.mod").read_text())
    if match is None:
        raise DaprdError("deploy/daprd/go.mod does not require github.com/dapr/dapr")
    return match.group(1)


def registered_types() -> frozenset[str]:
    """Return the component types the build registers, as `bindings.cron`, `state.sqlite` …."""
    text = (source_dir() / "components.go").read_text()
    calls = list(_LOADER_RE.finditer(text))
    found: set[str] = set()
    for index, call in enumerate(calls):
        stop = calls[index + 1].start() if index + 1 < len(calls) else len(text)
        names = _TYPE_NAME_RE.findall(text[call.end() : stop])
        found.update(f"{call.group(1)}.{name}" for name in names if not re.fullmatch(r"v\d+", name))
    return frozenset(found)


def build_key() -> str:
    """Return the cache key: the pinned version and a digest of the module and its registrations."""
    digest = hashlib.sha256()
    for name in _KEY_FILES:
        digest.update(name.encode())
        digest.update((source_dir() / name).read_bytes())
    return f"{pinned_version()}-{digest.hexdigest()[:12]}"


def find_or_build() -> Path:
    """Return the path of a usable daprd, building and caching it when none is found."""
    for candidate in _user_candidates():
        version = _version_of(candidate)
        if version is not None and _compatible(version):
            _log.info("using daprd %s at %s", version, candidate)
            return candidate
        _log.info("skipping daprd at %s: version %s is not %s.x", candidate, version, _series())
    return build()


def build() -> Path:
    """Build daprd into the cache unless a build for the current key is already there."""
    target_dir = cache_dir() / "daprd" / build_key()
    binary = target_dir / "daprd"
    if binary.is_file():
        return binary
    target_dir.mkdir(parents=True, exist_ok=True)
    with (target_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return binary
        _build_into(binary)
    return binary


def _build_into(binary: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise DaprdError("building daprd needs Go (https://go.dev/dl/); or set DAPRD to an existing daprd")
    src = source_dir()
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    module_dir = _module_dir(go, src, env)
    version = pinned_version()
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
        _log.info("building daprd %s (first build takes a few minutes)", version)
        _run(
            [go, "build", "-modfile", str(modfile), "-trimpath", "-ldflags", ldflags, "-o", str(output), "."],
            cwd=src,
            env=env,
        )
        output.replace(binary)


def _module_dir(go: str, src: Path, env: dict[str, str]) -> Path:
    out = _run([go, "mod", "download", "-json", f"{_MODULE}@v{pinned_version()}"], cwd=src, env=env)
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


def _series() -> str:
    return ".".join(pinned_version().split(".")[:2])


def _compatible(version: str) -> bool:
    return ".".join(version.split(".")[:2]) == _series()
