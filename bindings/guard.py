"""A gRPC server interceptor: the app API token check, redelivery signals and graceful drain.

The Dapr SDK's App never checks `APP_API_TOKEN`; this refuses every call whose
`dapr-api-token` metadata does not match (PERMISSION_DENIED) and logs it.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import grpc

from bindings.errors import RedeliverError

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger(__name__)
TOKEN_HEADER = "dapr-api-token"  # noqa: S105 - a header name, not a secret


class Guard(grpc.ServerInterceptor):  # type: ignore[misc]  # grpc ships no type hints
    """Token check, in-flight accounting and drain for every unary call into the app."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None
        self._draining = threading.Event()
        self._idle = threading.Condition()
        self._in_flight = 0
        self.refused = 0

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:  # noqa: ANN401
        """Wrap the method handler; refuse it outright when the token does not match."""
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        if self._token is not None and not self._token_matches(details.invocation_metadata):
            self.refused += 1
            _log.warning("refused %s: missing or wrong %s", details.method, TOKEN_HEADER)
            return _refusal(handler)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def drain(self, grace_seconds: float) -> bool:
        """Refuse new work and wait up to `grace_seconds` for calls in flight; True if all finished."""
        self._draining.set()
        deadline = time.monotonic() + grace_seconds
        with self._idle:
            while self._in_flight and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return self._in_flight == 0

    def _token_matches(self, metadata: Any) -> bool:  # noqa: ANN401 - grpc metadata tuples
        presented = [value for key, value in metadata or () if key == TOKEN_HEADER]
        if len(presented) != 1:
            return False
        value = presented[0].encode() if isinstance(presented[0], str) else presented[0]
        return hmac.compare_digest(value, self._token or b"")

    def _wrap(self, behavior: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(request: Any, context: Any) -> Any:  # noqa: ANN401
            if self._draining.is_set():
                context.abort(grpc.StatusCode.UNAVAILABLE, "app is shutting down")
            with self._idle:
                self._in_flight += 1
            try:
                return behavior(request, context)
            except RedeliverError as error:
                context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()
            return None  # unreachable: abort raises

        return run


def _refusal(handler: Any) -> Any:  # noqa: ANN401
    def refuse(_request: Any, context: Any) -> None:  # noqa: ANN401
        context.abort(grpc.StatusCode.PERMISSION_DENIED, f"missing or wrong {TOKEN_HEADER}")

    return grpc.unary_unary_rpc_method_handler(
        refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
