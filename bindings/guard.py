"""The app API token check, redelivery signals and graceful drain, around each method of the app's servicers.

The Dapr SDK's App never checks `APP_API_TOKEN`; this refuses every call whose
`dapr-api-token` metadata does not match (PERMISSION_DENIED) and logs it.

The check wraps each servicer method once, when the server is built, rather than running as a
`grpc.ServerInterceptor`: gRPC runs an interceptor's pipeline and builds a method handler for
every call, which cost more than the check itself (BENCHMARKS.md, framework overhead;
`bench/callback_probe.py`). Methods the servicer leaves unimplemented are wrapped too.

One method is answered without the token: daprd (1.16 to 1.18) lists an app's topic subscriptions
through a bare gRPC client that never adds it (`pkg/runtime/processor/subscriber`), so checking it
would leave every subscription unsubscribed. The answer only names topics; it starts no work.
"""

from __future__ import annotations

import hmac
import logging
import threading
from typing import TYPE_CHECKING, Any

import grpc

from bindings.errors import RedeliverError

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger(__name__)
TOKEN_HEADER = "dapr-api-token"  # noqa: S105 - a header name, not a secret
UNCHECKED = frozenset({"/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions"})  # see above


class Guard:
    """Token check, in-flight accounting and drain for every unary call into the app."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None
        self._lock = threading.Lock()  # guards the three below
        self._draining = False
        self._in_flight = 0
        self._idle = threading.Event()  # set once draining with no call in flight
        self.refused = 0

    def servicer(self, servicer: object, service: str) -> Any:  # noqa: ANN401 - stands in for `servicer`
        """`servicer` with each method wrapped by `wrap`, for `add_<Service>Servicer_to_server`."""
        return _Guarded(self, servicer, service)

    def wrap(self, behavior: Callable[[Any, Any], Any], method: str) -> Callable[[Any, Any], Any]:
        """`behavior` (a unary method, `method` its full gRPC name) behind the token check and drain."""
        token = None if method in UNCHECKED else self._token

        def guarded(request: Any, context: Any) -> Any:  # noqa: ANN401
            if token is not None and not self._token_matches(context.invocation_metadata()):
                self._refuse(method, context)
            with self._lock:
                draining = self._draining
                if not draining:
                    self._in_flight += 1
            if draining:
                context.abort(grpc.StatusCode.UNAVAILABLE, "app is shutting down")
            try:
                return behavior(request, context)
            except RedeliverError as error:
                context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
            finally:
                with self._lock:
                    self._in_flight -= 1
                    if self._draining and not self._in_flight:
                        self._idle.set()
            return None  # unreachable: abort raises

        return guarded

    def drain(self, grace_seconds: float) -> bool:
        """Refuse new work and wait up to `grace_seconds` for calls in flight; True if all finished."""
        with self._lock:
            self._draining = True
            if not self._in_flight:
                return True
        self._idle.wait(grace_seconds)
        with self._lock:
            return self._in_flight == 0

    def _token_matches(self, metadata: Any) -> bool:  # noqa: ANN401 - gRPC metadata tuples
        presented = [value for key, value in metadata or () if key == TOKEN_HEADER]
        if len(presented) != 1:
            return False
        value = presented[0].encode() if isinstance(presented[0], str) else presented[0]
        return hmac.compare_digest(value, self._token or b"")

    def _refuse(self, method: str, context: Any) -> None:  # noqa: ANN401
        with self._lock:
            self.refused += 1
        _log.warning("refused %s: missing or wrong %s", method, TOKEN_HEADER)
        context.abort(grpc.StatusCode.PERMISSION_DENIED, f"missing or wrong {TOKEN_HEADER}")


class _Guarded:
    """A servicer whose methods, looked up once as the server is built, are wrapped by a `Guard`."""

    def __init__(self, guard: Guard, servicer: object, service: str) -> None:
        self._guard, self._servicer, self._service = guard, servicer, service

    def __getattr__(self, name: str) -> Callable[[Any, Any], Any]:
        return self._guard.wrap(getattr(self._servicer, name), f"/{self._service}/{name}")
