"""The app API token check and drain around a method, through a real in-process gRPC server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from bindings.errors import RedeliverError
from bindings.guard import Guard

_METHOD = "/test.Echo/Call"


def _serve(guard: Guard, behaviour: object) -> tuple[grpc.Server, int]:
    guarded = guard.wrap(behaviour, _METHOD)  # type: ignore[arg-type]
    handler = grpc.method_handlers_generic_handler(
        "test.Echo", {"Call": grpc.unary_unary_rpc_method_handler(guarded)}
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture
def channel_for() -> Iterator[object]:
    """Start a guarded echo server and return a function that opens a channel to it."""
    servers: list[grpc.Server] = []

    def open_channel(guard: Guard, behaviour: object = lambda request, _context: request) -> grpc.Channel:
        server, port = _serve(guard, behaviour)
        servers.append(server)
        return grpc.insecure_channel(f"127.0.0.1:{port}")

    yield open_channel
    for server in servers:
        server.stop(0)


def _call(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...] = ()) -> bytes:
    return channel.unary_unary(_METHOD)(b"ping", metadata=metadata, timeout=5)  # type: ignore[no-any-return]


@pytest.mark.parametrize("metadata", [(), (("dapr-api-token", "wrong"),), (("authorization", "secret"),)])
def test_calls_without_the_matching_token_are_refused(
    channel_for: object, metadata: tuple[tuple[str, str], ...]
) -> None:
    """No token, a wrong token or a token in another header: PERMISSION_DENIED, and counted."""
    guard = Guard("secret")
    channel = channel_for(guard)  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as caught:
        _call(channel, metadata)
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert guard.refused == 1


def test_the_matching_token_passes(channel_for: object) -> None:
    """The right dapr-api-token reaches the handler."""
    channel = channel_for(Guard("secret"))  # type: ignore[operator]
    assert _call(channel, (("dapr-api-token", "secret"),)) == b"ping"


def test_without_a_configured_token_every_call_passes(channel_for: object) -> None:
    """APP_API_TOKEN unset means no check (local runs without tokens)."""
    channel = channel_for(Guard(None))  # type: ignore[operator]
    assert _call(channel) == b"ping"


def test_redeliver_becomes_unavailable(channel_for: object) -> None:
    """A RedeliverError answers UNAVAILABLE so the sidecar keeps the message."""

    def fail(_request: bytes, _context: object) -> bytes:
        raise RedeliverError("try again")

    channel = channel_for(Guard(None), fail)  # type: ignore[operator]
    with pytest.raises(grpc.RpcError) as caught:
        _call(channel)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "try again" in (caught.value.details() or "")


def test_drain_waits_for_calls_in_flight_then_refuses_new_ones(channel_for: object) -> None:
    """drain() returns once the running call ends; later calls get UNAVAILABLE."""
    started, release = threading.Event(), threading.Event()

    def slow(request: bytes, _context: object) -> bytes:
        started.set()
        release.wait(5)
        return request

    guard = Guard(None)
    channel = channel_for(guard, slow)  # type: ignore[operator]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_call, channel)
        assert started.wait(5)
        threading.Timer(0.2, release.set).start()
        began = time.monotonic()
        assert guard.drain(5.0) is True
        assert time.monotonic() - began < 5.0
        assert pending.result() == b"ping"
    with pytest.raises(grpc.RpcError) as caught:
        _call(channel)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
