"""Azurite, the Azure Storage emulator: installed in the user cache from a lock, started on loopback.

`tools/azurite/package.json` pins Azurite and `package-lock.json` every package under it, with its
integrity hash; `npm ci` installs exactly that into a cache folder named after both files' digest.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tooling import procs
from tooling.paths import cache_dir, files_digest, project_root

if TYPE_CHECKING:
    from pathlib import Path

_LOCK_FILES = ("package.json", "package-lock.json")
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (https://github.com/Azure/Azurite#default-storage-account).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True, slots=True)
class Azurite:
    """A running Azurite and its endpoints."""

    proc: procs.Proc
    blob_port: int
    queue_port: int

    @property
    def blob_endpoint(self) -> str:
        """The blob service base URL (without the account)."""
        return f"http://127.0.0.1:{self.blob_port}"

    @property
    def queue_endpoint(self) -> str:
        """The queue service base URL (without the account)."""
        return f"http://127.0.0.1:{self.queue_port}"

    @property
    def connection_string(self) -> str:
        """A connection string for the Azure SDKs."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint}/{ACCOUNT};QueueEndpoint={self.queue_endpoint}/{ACCOUNT};"
        )


def source_dir() -> Path:
    """The npm project that pins Azurite: package.json and package-lock.json."""
    return project_root() / "tools" / "azurite"


def version() -> str:
    """The Azurite release package.json pins, e.g. `3.37.0`."""
    manifest = json.loads((source_dir() / "package.json").read_text())
    return str(manifest["dependencies"]["azurite"])


def install() -> Path:
    """Install the locked Azurite into the cache (idempotent) and return its launcher."""
    prefix = cache_dir() / f"azurite-{version()}-{files_digest(source_dir(), _LOCK_FILES)}"
    launcher = prefix / "node_modules" / ".bin" / "azurite"
    if launcher.is_file():
        return launcher
    npm = shutil.which("npm")
    if npm is None:
        raise procs.StackError("Azurite needs Node.js and npm (https://nodejs.org)")
    prefix.mkdir(parents=True, exist_ok=True)
    with (prefix / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not launcher.is_file():
            for name in _LOCK_FILES:
                shutil.copyfile(source_dir() / name, prefix / name)
            argv = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
            result = subprocess.run(argv, cwd=prefix, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise procs.StackError(f"npm ci (Azurite {version()}) failed:\n{result.stderr[-3000:]}")
    return launcher


def start(workspace: Path, log: Path, *, timeout: float = 30.0) -> Azurite:
    """Start Azurite (blob and queue) on free loopback ports with its data in `workspace`."""
    launcher = install()
    workspace.mkdir(parents=True, exist_ok=True)
    blob_port, queue_port, table_port = procs.free_port(), procs.free_port(), procs.free_port()
    proc = procs.start(
        "azurite",
        [
            str(launcher),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--location",
            str(workspace),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table_port),
        ],
        log=log,
    )
    for port in (blob_port, queue_port):
        procs.wait_until(proc, procs.port_open(port), timeout=timeout, what=f"listening on {port}")
    return Azurite(proc=proc, blob_port=blob_port, queue_port=queue_port)
