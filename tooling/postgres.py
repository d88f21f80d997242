"""A throwaway PostgreSQL server on loopback, for replica tests that need a networked state store.

Uses the distribution's server binaries (Debian: package `postgresql`). PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user and its commands run through `runuser`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tooling import procs

_USER = "bindery"


@dataclass
class Postgres:
    """A running server; `connection_string` suits Dapr's state.postgresql component."""

    proc: procs.Proc
    port: int
    data: Path

    @property
    def connection_string(self) -> str:
        """A libpq key/value connection string for the superuser `bindery` (trust auth, loopback only)."""
        return f"host=127.0.0.1 port={self.port} user={_USER} dbname=postgres sslmode=disable"

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the cluster."""
        self.proc.stop(signal.SIGINT)
        shutil.rmtree(self.data, ignore_errors=True)


def bindir() -> Path:
    """The folder with initdb and postgres: `pg_config --bindir`, else the newest Debian one."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        found = Path(out.strip())
        if (found / "initdb").is_file():
            return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise procs.StackError("PostgreSQL server binaries not found: install the `postgresql` package")
    return candidates[-1].parent


def start(log: Path, *, timeout: float = 60.0) -> Postgres:
    """Create a cluster in a fresh temporary folder and serve it on a free loopback port."""
    binaries = bindir()
    data = Path(tempfile.mkdtemp(prefix="bindery-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, user="postgres", group="postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    init = subprocess.run(
        [*as_owner, str(binaries / "initdb"), "-D", str(data), "-U", _USER, "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise procs.StackError(f"initdb failed: {init.stderr.strip()[-2000:]}")
    port = procs.free_port()
    settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={data}", "fsync=off",
                "synchronous_commit=off", "full_page_writes=off", "max_connections=200"]  # fmt: skip
    argv = [*as_owner, str(binaries / "postgres"), "-D", str(data), "-p", str(port)]
    for setting in settings:
        argv += ["-c", setting]
    proc = procs.start("postgres", argv, log=log)
    try:
        procs.wait_until(proc, procs.port_open(port), timeout=timeout, what="PostgreSQL listening")
    except procs.StackError:
        proc.stop(signal.SIGINT)
        shutil.rmtree(data, ignore_errors=True)
        raise
    return Postgres(proc=proc, port=port, data=data)
