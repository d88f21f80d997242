"""tooling/redis.py: how the local broker is found and started, and its small RESP client."""

from __future__ import annotations

import io
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any, cast

import pytest

from tooling import procs, redis


def test_a_missing_redis_server_names_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither on the PATH nor at Debian's path: a StackError that says to install `redis-server`."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(redis, "_DEBIAN_BINARY", tmp_path / "redis-server")
    with pytest.raises(procs.StackError, match="install the `redis-server` package"):
        redis.binary()


def test_the_server_on_the_path_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A redis-server on the PATH is used before Debian's /usr/bin one."""
    server = tmp_path / "redis-server"
    server.write_text("#!/bin/sh\n")
    server.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert redis.binary() == server


def test_it_listens_on_loopback_only_and_persists_to_an_append_only_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """127.0.0.1, protected mode, no unix socket, AOF fsynced every second, no RDB; the port given is kept."""
    started: dict[str, Any] = {}

    def fake_start(name: str, argv: list[str], *, log: Path) -> procs.Proc:
        started.update(name=name, argv=argv, log=log)
        return procs.Proc(name=name, popen=cast("subprocess.Popen[bytes]", None), log=log)  # never run

    monkeypatch.setattr(redis, "binary", lambda: Path("/opt/redis-server"))
    monkeypatch.setattr(procs, "start", fake_start)
    monkeypatch.setattr(redis, "_wait_ready", lambda *_: None)
    server = redis.start(tmp_path / "data", tmp_path / "redis.log", port=6400)
    argv = started["argv"]
    settings = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert argv[0] == "/opt/redis-server"
    assert settings == {
        "--bind": "127.0.0.1",
        "--protected-mode": "yes",
        "--port": "6400",
        "--unixsocket": "",
        "--dir": str(tmp_path / "data"),
        "--appendonly": "yes",
        "--appendfsync": "everysec",
        "--save": "",
        "--daemonize": "no",
        "--logfile": "",
        "--set-proc-title": "no",
    }
    assert (tmp_path / "data").is_dir()
    assert (server.host, server.data) == ("127.0.0.1:6400", tmp_path / "data")


def test_replies_are_read_as_bytes_ints_lists_and_none() -> None:
    """Simple and bulk strings, integers, nested arrays and nil, as RESP2 writes them."""
    wire = b"*4\r\n+OK\r\n:42\r\n$-1\r\n*2\r\n$5\r\nhe\r\no\r\n*0\r\n"
    assert redis._read_reply(io.BytesIO(wire)) == [b"OK", 42, None, [b"he\r\no", []]]  # noqa: SLF001


def test_an_error_reply_raises_and_a_cut_reply_is_an_os_error() -> None:
    """`-ERR …` raises RedisError with the text; a connection closed mid-line is an OSError."""
    with pytest.raises(redis.RedisError, match="ERR unknown command"):
        redis._read_reply(io.BytesIO(b"-ERR unknown command\r\n"))  # noqa: SLF001
    with pytest.raises(OSError, match="mid-reply"):
        redis._read_reply(io.BytesIO(b"+PON"))  # noqa: SLF001


def test_a_command_goes_out_as_an_array_of_bulk_strings() -> None:
    """`command` writes `*N` and each argument as `$len`, to 127.0.0.1, and reads one reply."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            received.append(connection.recv(4096))
            connection.sendall(b"$3\r\n1-0\r\n")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        reply = redis.command(listener.getsockname()[1], "XADD", "topic", "*", "data", b"\x00{}")
    finally:
        thread.join(5)
        listener.close()
    assert reply == b"1-0"
    assert received == [b"*5\r\n$4\r\nXADD\r\n$5\r\ntopic\r\n$1\r\n*\r\n$4\r\ndata\r\n$3\r\n\x00{}\r\n"]


def test_stream_entries_come_back_as_their_fields() -> None:
    """An XRANGE entry `[id, [field, value, …]]` is {field: value}, decoded."""
    entry: redis.Reply = [b"1-0", [b"data", b'{"a": 1}', b"metadata", b"{}"]]
    assert redis._fields(entry) == {"data": '{"a": 1}', "metadata": "{}"}
