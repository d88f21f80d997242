"""Child processes of the local stack: free ports, log files, readiness waits, clean stops."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bindings.errors import BinderyError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path


class StackError(BinderyError, RuntimeError):
    """A process of the local stack did not start or become ready; the message names its log."""


_ISSUED: set[int] = set()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now and that this process has not handed out before.

    The probe socket is closed at once, so the kernel may offer the same port to the next call: a
    sidecar's metrics port once equalled its app's port, daprd took it first, and the app could not
    serve. Ports are therefore never handed out twice by one process.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _ISSUED:
            _ISSUED.add(port)
            return port


@dataclass
class Proc:
    """One started process, its log file, and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    stop_timeout: float = 10.0
    _log_file: object = field(default=None, repr=False)
    # How it was started, so `restart` can run it again (fault tests); env may hold tokens.
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] | None = field(default=None, repr=False)
    cwd: Path | None = None

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the process group, wait, then kill what is left; return the exit code."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        close = getattr(self._log_file, "close", None)
        if close is not None:
            close()
        return self.popen.returncode

    def restart(self) -> None:
        """Run the same command again (arguments, environment, log) in this object, once it has exited.

        Fault tests kill a process, then bring it back on the same ports and data; every holder
        of this `Proc` (a stack's list, a `RunningApp`) then sees the new process.
        """
        if self.alive():
            raise StackError(f"{self.name} is still running; stop it before restarting it")
        if not self.argv:
            raise StackError(f"{self.name} was not started by procs.start: nothing to restart")
        close = getattr(self._log_file, "close", None)
        if close is not None:
            close()
        fresh = start(self.name, self.argv, log=self.log, env=self.env, cwd=self.cwd)
        self.popen, self._log_file = fresh.popen, fresh._log_file  # noqa: SLF001 - the same class

    def tail(self, lines: int = 30) -> str:
        """The last `lines` lines of the log, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Proc:
    """Start `argv` in its own process group with stdout and stderr appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log_file = log.open("ab")
    popen = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    return Proc(name=name, popen=popen, log=log, _log_file=log_file, argv=tuple(argv), env=env, cwd=cwd)


def wait_until(proc: Proc, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `ready` until true; raise `StackError` with the log tail if `proc` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise StackError(
                f"{proc.name} exited ({proc.popen.returncode}) before {what}; log {proc.log}:\n{proc.tail()}"
            )
        if ready():
            return
        time.sleep(0.05)
    raise StackError(f"{proc.name}: {what} not reached in {timeout:.0f}s; log {proc.log}:\n{proc.tail()}")


def port_open(port: int) -> Callable[[], bool]:
    """A readiness check: something accepts TCP connections on 127.0.0.1:`port`."""

    def check() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return check


def http_status(url: str, status: int) -> Callable[[], bool]:
    """A readiness check: GET `url` answers `status`."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback URLs we built
                return int(response.status) == status
        except (urllib.error.URLError, OSError):
            return False

    return check
