"""Redis, the local pub/sub broker (Dapr's `pubsub.redis`: streams and consumer groups), on loopback.

Uses the distribution's server (Debian: package `redis-server`, installed by tools/system-packages).
It listens on 127.0.0.1 only, in protected mode, without a unix socket, and keeps its data in one
folder: an append-only file fsynced every second (no RDB snapshots), so streams, consumer groups and
their pending entries survive a stop, a kill (up to the last second of writes) and a restart.
Fault tests take it down and bring it back on the same port and folder with `kill` and `restart`.

`command` speaks RESP2 over a plain socket, for tests and readiness checks: no client library.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tooling import procs

_DEBIAN_BINARY = Path("/usr/bin/redis-server")
Reply = bytes | int | list["Reply"] | None


class RedisError(procs.StackError):
    """Redis answered a command with an error reply (`-ERR …`)."""


@dataclass
class Redis:
    """A running redis-server: its process, port and data folder."""

    proc: procs.Proc
    port: int
    data: Path

    @property
    def host(self) -> str:
        """`host:port`, the value of the component's `redisHost`."""
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut down (SIGTERM: Redis fsyncs the append-only file and exits); the data folder stays."""
        self.proc.stop(signal.SIGTERM)

    def kill(self) -> None:
        """Crash it (SIGKILL): what an fsync policy of `everysec` may lose is the last second of writes."""
        self.proc.stop(signal.SIGKILL)

    def restart(self, *, timeout: float = 30.0) -> None:
        """Start it again (stopping it first if it runs) on the same port and data folder; wait for PONG."""
        if self.proc.alive():
            self.stop()
        self.proc.restart()
        _wait_ready(self.proc, self.port, timeout)

    def command(self, *args: str | bytes) -> Reply:
        """Send one command and return its reply (see the module's `command`)."""
        return command(self.port, *args)

    def stream(self, key: str) -> list[dict[str, str]]:
        """Every entry of the stream `key` (a topic), oldest first, as its fields (`data`, `metadata`)."""
        entries = self.command("XRANGE", key, "-", "+")
        assert isinstance(entries, list)  # noqa: S101 - XRANGE answers an array
        return [_fields(entry) for entry in entries]


def binary() -> Path:
    """The redis-server on the PATH, else Debian's; a StackError naming the package when there is none."""
    found = shutil.which("redis-server")
    if found is not None:
        return Path(found)
    if os.access(_DEBIAN_BINARY, os.X_OK):
        return _DEBIAN_BINARY
    raise procs.StackError(
        "redis-server not found (the local pub/sub broker): install the `redis-server` package "
        "(tools/system-packages does)"
    )


def start(data: Path, log: Path, *, port: int | None = None, timeout: float = 30.0) -> Redis:
    """Serve `data` (created if needed) on `port`, else a free loopback port; return once it answers PING.

    Passing the `port` and `data` of a stopped server starts it again where it was (another process
    can take a broker over this way; within one, `Redis.restart` does it).
    """
    server = binary()
    data.mkdir(parents=True, exist_ok=True)
    port = port or procs.free_port()
    settings = {
        "bind": "127.0.0.1",  # loopback only; with protected mode on as well
        "protected-mode": "yes",
        "port": str(port),
        "unixsocket": "",  # no socket file: TCP on loopback is the one way in
        "dir": str(data),
        "appendonly": "yes",
        "appendfsync": "everysec",
        "save": "",  # no RDB snapshots: the append-only file is the persistence
        "daemonize": "no",
        "logfile": "",  # stdout, into `log`
        # Redis would rewrite its title over its environment: `bindery run`'s leak checks read that.
        "set-proc-title": "no",
    }
    argv = [str(server)]
    for key, value in settings.items():
        argv += [f"--{key}", value]
    proc = procs.start("redis", argv, log=log)
    try:
        _wait_ready(proc, port, timeout)
    except procs.StackError:
        proc.stop(signal.SIGKILL)
        raise
    return Redis(proc=proc, port=port, data=data)


def _fields(entry: Reply) -> dict[str, str]:
    """An XRANGE entry `[id, [field, value, …]]` as {field: value}, decoded as UTF-8."""
    assert isinstance(entry, list)  # noqa: S101 - RESP shape
    assert isinstance(entry[1], list)  # noqa: S101
    flat = [item.decode(errors="replace") if isinstance(item, bytes) else str(item) for item in entry[1]]
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _wait_ready(proc: procs.Proc, port: int, timeout: float) -> None:
    """Wait for `+PONG`: while Redis loads its append-only file it accepts connections, answering -LOADING."""

    def ready() -> bool:
        try:
            return command(port, "PING", timeout=1.0) == b"PONG"
        except (OSError, RedisError):
            return False

    procs.wait_until(proc, ready, timeout=timeout, what=f"redis answering PING on {port}")


def command(port: int, *args: str | bytes, timeout: float = 5.0) -> Reply:
    """Send one RESP2 command to 127.0.0.1:`port` and return its reply.

    Simple strings and bulk strings come back as bytes, integers as int, arrays as lists, nil as None;
    an error reply raises RedisError.
    """
    parts = [arg.encode() if isinstance(arg, str) else arg for arg in args]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as stream:
            return _read_reply(stream)


def _read_reply(stream: BinaryIO) -> Reply:
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise OSError("redis closed the connection mid-reply")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        raise RedisError(f"redis: {body.decode(errors='replace')}")
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        return stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(body)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise OSError(f"redis: unexpected reply {line[:40]!r}")
