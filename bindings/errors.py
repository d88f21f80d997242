"""The error hierarchy, and the one place that translates Dapr's gRPC errors into it.

A small hierarchy in the spirit of httpx: handlers raise `PermanentError` for input that
will never succeed (dead-lettered at once) and `TransientError` for failures worth
retrying (redelivered until the binding's attempt limit, then dead-lettered).
"""

from __future__ import annotations

import grpc


class BinderyError(Exception):
    """Base of every error Bindery raises on purpose."""


class PermanentError(BinderyError):
    """Retrying cannot help: bad input, a refused request, a missing resource."""


class TransientError(BinderyError):
    """Retrying may help: the sidecar, a store or a downstream service is unavailable."""


class InDoubtError(TransientError):
    """The call may have taken effect: the connection to the sidecar broke while it ran.

    Retrying is safe for idempotent work; a non-idempotent effect (a sent email) must not be repeated.
    """


class NotFoundError(PermanentError):
    """What was asked for does not exist (a blob): permanent, and a caller may expect it."""


class ConflictError(PermanentError):
    """An optimistic write lost: the ETag did not match or the key already exists."""


_PERMANENT = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
_CONFLICT = frozenset(
    {grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION}
)
# How state stores word a lost optimistic write when the code does not say it: sqlite and most
# stores raise an ETag mismatch (ABORTED), but PostgreSQL (v1 and v2) answers an insert-only
# (first-write, no ETag) save of an existing key with a plain "no item was updated" (INTERNAL).
_CONFLICT_PHRASES = ("etag mismatch", "no item was updated")
# A call cut off in flight: the sidecar died or the connection reset after the request was sent.
# UNAVAILABLE also means "never connected" (the request did not leave the app): only that, said in
# gRPC's own words, is a plain TransientError.
_IN_DOUBT = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}
)
_NEVER_SENT_PHRASES = ("failed to connect", "connection refused")


def translate(error: grpc.RpcError, action: str) -> BinderyError:
    """Map a gRPC error from the sidecar to `PermanentError`, `ConflictError` or `TransientError`.

    `action` says what was attempted (for example "invoke binding documents") and starts
    the message. Codes not known to be permanent are transient: an unclear failure is
    retried a bounded number of times rather than dropped. A call cut off in flight is the
    transient `InDoubtError`: it may have taken effect.
    """
    code = _code(error)
    details = _details(error)
    message = f"{action}: {code.name if code else 'UNKNOWN'}: {details}"
    if code in _CONFLICT or any(phrase in details.lower() for phrase in _CONFLICT_PHRASES):
        return ConflictError(message)
    if code in _PERMANENT:
        return PermanentError(message)
    if code in _IN_DOUBT and not any(phrase in details.lower() for phrase in _NEVER_SENT_PHRASES):
        return InDoubtError(message)
    return TransientError(message)


def _code(error: grpc.RpcError) -> grpc.StatusCode | None:
    code = getattr(error, "code", None)
    value = code() if callable(code) else None
    return value if isinstance(value, grpc.StatusCode) else None


def _details(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    value = details() if callable(details) else None
    return str(value) if value else str(error)
