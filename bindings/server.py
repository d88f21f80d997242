"""The gRPC server an app serves to its sidecar: Dapr's AppCallback service, bindings and topics.

Served from the generated `dapr.proto` stubs rather than `dapr.ext.grpc.App`, whose import pulls
in the whole Dapr client package (aiohttp, the workflow and actor clients…): about a quarter of a
second and a dozen MiB before the port opens, for code the server never runs. Only what an app of
ours answers is implemented: the bindings and topics it lists, their events one at a time or in
batches (`bindings/topic_callbacks.py`, under both names daprd 1.16 and 1.18 use), and the health
check. Everything else (service invocation, jobs) keeps the generated UNIMPLEMENTED answer.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc

from bindings import client, logs
from bindings.settings import Setting
from bindings.topic_callbacks import AlphaCallback, TopicCallbacks

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from types import FrameType

    from bindings.guard import Guard
    from bindings.topics import Subscription, TopicEntry, TopicStatus

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


@dataclass(frozen=True)
class Callbacks:
    """What an app answers: its input bindings and topics, and the handler of each kind of event."""

    bindings: tuple[str, ...]
    handle: Callable[[str, bytes, Mapping[str, str]], None]
    subscriptions: tuple[Subscription, ...] = ()
    handle_topic: Callable[[str, str, str, bytes], TopicStatus] | None = None
    handle_topic_batch: Callable[[str, str, Sequence[TopicEntry]], list[TopicStatus]] | None = None


class _Callback(appcallback_pb2_grpc.AppCallbackServicer):
    """Lists the app's input bindings and topics and hands each event to its handler."""

    def __init__(self, callbacks: Callbacks, topics: TopicCallbacks) -> None:
        self._bindings = callbacks.bindings
        self._handle = callbacks.handle
        self._topics = topics

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

    def ListTopicSubscriptions(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401
        """The topics this app subscribes to, each with its dead-letter topic and any bulk delivery."""
        return self._topics.listing()

    def OnTopicEvent(self, request: Any, _context: Any) -> Any:  # noqa: N802, ANN401
        """One event: SUCCESS (handled), RETRY (redeliver) or DROP (dead-lettered; daprd forwards it)."""
        return self._topics.event(request)

    def OnBulkTopicEvent(self, request: Any, _context: Any) -> Any:  # noqa: N802, ANN401
        """A batch (daprd 1.18): a status per entry, each entry handled as `OnTopicEvent` would."""
        return self._topics.batch(request)


class _Health(appcallback_pb2_grpc.AppCallbackHealthCheckServicer):
    """Healthy while serving; the guard answers UNAVAILABLE once the app drains."""

    def HealthCheck(self, _request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC name
        """An empty answer: the process is up and taking events."""
        return appcallback_pb2.HealthCheckResponse()


def build(callbacks: Callbacks, *, guard: Guard, workers: int) -> grpc.Server:
    """A server (not started, no port yet) answering daprd's app callbacks, each method behind `guard`."""
    server = grpc.server(ThreadPoolExecutor(max_workers=workers))
    topics = TopicCallbacks(callbacks.subscriptions, callbacks.handle_topic, callbacks.handle_topic_batch)
    callback = guard.servicer(_Callback(callbacks, topics), "dapr.proto.runtime.v1.AppCallback")
    alpha = guard.servicer(AlphaCallback(topics), "dapr.proto.runtime.v1.AppCallbackAlpha")
    health = guard.servicer(_Health(), "dapr.proto.runtime.v1.AppCallbackHealthCheck")
    appcallback_pb2_grpc.add_AppCallbackServicer_to_server(callback, server)  # type: ignore[no-untyped-call]
    appcallback_pb2_grpc.add_AppCallbackAlphaServicer_to_server(alpha, server)  # type: ignore[no-untyped-call]
    appcallback_pb2_grpc.add_AppCallbackHealthCheckServicer_to_server(health, server)  # type: ignore[no-untyped-call]
    return server


def serve(
    grpc_server: grpc.Server,
    guard: Guard,
    address: str,
    *,
    grace_seconds: float,
    serving: Callable[[], object] | None = None,
) -> None:
    """Serve on `address` until SIGTERM or SIGINT, then drain within `grace_seconds` and stop."""
    # The handler only records the signal; the main thread drains and stops the server once it
    # has started. Stopping inside the handler raced the start: the port accepts connections
    # before `start()`, and stopping a server that is not started yet is a no-op, so a SIGTERM
    # in that window left the app serving until SIGKILL. A bare lock is the wake-up, not an
    # Event: the handler runs on the main thread, which may be holding the Event's own lock.
    received: list[int] = []
    stop_requested = threading.Lock()
    stop_requested.acquire()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            stop_requested.release()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    grpc_server.add_insecure_port(address)
    grpc_server.start()
    if serving is not None:
        serving()
    stop_requested.acquire()  # returns once a signal has arrived, before or after the start
    _log.info("received %s: draining for up to %.0fs", signal.Signals(received[0]).name, grace_seconds)
    finished = guard.drain(grace_seconds)
    _log.info("drained" if finished else "grace period over with work in flight")
    grpc_server.stop(0)
    grpc_server.wait_for_termination()
    client.close()
