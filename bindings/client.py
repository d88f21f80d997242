"""One shared Dapr client a process, created on first use with a bounded wait for the sidecar."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from typing import TYPE_CHECKING, TypeVar

import grpc

from bindings.errors import TransientError, translate
from bindings.settings import Setting

if TYPE_CHECKING:
    from collections.abc import Callable

    from dapr.clients import DaprClient

T = TypeVar("T")
SIDECAR_WAIT = Setting("BINDERY_SIDECAR_WAIT", "10", "seconds the first output call waits for the sidecar")
_lock = threading.Lock()
_client: DaprClient | None = None


def shared_client() -> DaprClient:
    """Return the process's Dapr client, waiting at most `$BINDERY_SIDECAR_WAIT` seconds (10)."""
    global _client  # noqa: PLW0603 - one client a process is the point
    with _lock:
        if _client is None:
            # Imported here, not at module level: the client package (aiohttp among it) costs half a
            # second of start-up, which an app that never calls an output binding should not pay.
            from dapr.clients import DaprClient  # noqa: PLC0415
            from dapr.conf import settings  # noqa: PLC0415

            wait = SIDECAR_WAIT.number(os.environ)
            settings.DAPR_HEALTH_TIMEOUT = wait  # type: ignore[attr-defined]  # the SDK sets it from env
            try:
                # The SDK prints every failed health probe; our logs say it once.
                with contextlib.redirect_stdout(io.StringIO()):
                    _client = DaprClient()
            except Exception as error:
                raise TransientError(f"the Dapr sidecar is not answering: {error}") from error
        return _client


def call(action: str, operation: Callable[[DaprClient], T]) -> T:
    """Run `operation` with the shared client; translate gRPC failures into Bindery errors."""
    client = shared_client()
    try:
        return operation(client)
    except grpc.RpcError as error:
        raise translate(error, action) from error


def close() -> None:
    """Close the shared client (at shutdown)."""
    global _client  # noqa: PLW0603
    with _lock:
        if _client is not None:
            _client.close()  # type: ignore[no-untyped-call]
            _client = None
