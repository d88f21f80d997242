"""The gRPC server an app serves to its sidecar: Dapr's AppCallback service, input bindings only.

Served from the generated `dapr.proto` stubs rather than `dapr.ext.grpc.App`, whose import pulls
in the whole Dapr client package (aiohttp, the workflow and actor clients…): about a quarter of a
second and a dozen MiB before the port opens, for code the server never runs. Only what an app of
ours answers is implemented: the bindings it lists, their events, and the health check. Everything
else (service invocation, topics, jobs) keeps the generated UNIMPLEMENTED answer.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc

from bindings import client, logs
from bindings.settings import Setting

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bindings.guard import Guard

_log = logging.getLogger("bindings.app")
TOKEN = Setting("APP_API_TOKEN", None, "the token daprd sends; unset: calls are not checked", optional=True)
WORKERS = Setting("BINDERY_WORKERS", "8", "events handled at once (gRPC server threads)")
PORT = Setting("APP_PORT", "50051", "the port the gRPC server listens on for its sidecar")
HOST = Setting("APP_HOST", "127.0.0.1", "the address the gRPC server binds; empty: every address")
# What every FunctionApp reads (the Dapr client reads BINDERY_SIDECAR_WAIT on its first call).
SETTINGS = (TOKEN, WORKERS, PORT, HOST, logs.LEVEL, client.SIDECAR_WAIT)


@dataclass(frozen=True)
class ServerSettings:
    """How `FunctionApp.run` serves: read once, at start."""

    token: str | None
    workers: int
    port: int
    host: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ServerSettings:
        """Read and check the server's settings (and the sidecar wait, used later)."""
        client.SIDECAR_WAIT.number(environ)
        return cls(
            token=TOKEN.text(environ) or None,
            workers=WORKERS.integer(environ),
            port=PORT.integer(environ),
            host=HOST.string(environ) or "[::]",
        )


class _Callback(appcallback_pb2_grpc.AppCallbackServicer):
    """Lists the app's input bindings and hands each binding event to `handle`."""

    def __init__(
        self, bindings: tuple[str, ...], handle: Callable[[str, bytes, Mapping[str, str]], None]
    ) -> None:
        self._bindings = bindings
        self._handle = handle

    def ListInputBindings(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC names
        """The bindings this app handles (daprd asks only for components without a direction)."""
        return appcallback_pb2.ListInputBindingsResponse(bindings=list(self._bindings))

    def OnBindingEvent(self, request: Any, context: Any) -> Any:  # noqa: N802, ANN401
        """One event: `handle` returns to acknowledge it, raises `RedeliverError` to leave it queued."""
        if request.name not in self._bindings:
            _log.error("event for binding %r, which this app has no handler for", request.name)
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"no handler for binding {request.name!r}")
        # `request.metadata` is the component's metadata (dequeueCount…); gRPC headers stay out of it.
        self._handle(request.name, request.data, dict(request.metadata))
        return appcallback_pb2.BindingEventResponse()


class _Health(appcallback_pb2_grpc.AppCallbackHealthCheckServicer):
    """Healthy while serving; the guard answers UNAVAILABLE once the app drains."""

    def HealthCheck(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC name
        """An empty answer: the process is up and taking events."""
        return appcallback_pb2.HealthCheckResponse()


def build(
    bindings: tuple[str, ...],
    handle: Callable[[str, bytes, Mapping[str, str]], None],
    *,
    guard: Guard,
    workers: int,
) -> grpc.Server:
    """A server (not started, no port yet) answering daprd's app callbacks, each method behind `guard`."""
    server = grpc.server(ThreadPoolExecutor(max_workers=workers))
    callback = guard.servicer(_Callback(bindings, handle), "dapr.proto.runtime.v1.AppCallback")
    health = guard.servicer(_Health(), "dapr.proto.runtime.v1.AppCallbackHealthCheck")
    appcallback_pb2_grpc.add_AppCallbackServicer_to_server(callback, server)  # type: ignore[no-untyped-call]
    appcallback_pb2_grpc.add_AppCallbackHealthCheckServicer_to_server(health, server)  # type: ignore[no-untyped-call]
    return server
