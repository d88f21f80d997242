"""The error hierarchy, and the one place that translates gRPC codes and HTTP statuses into it.

A small hierarchy in the spirit of httpx: handlers raise `PermanentError` for input that
will never succeed (dead-lettered at once) and `TransientError` for failures worth
retrying (redelivered until the binding's attempt limit, then dead-lettered). Every
exception class of the project derives from `BinderyError`; one that is neither
permanent nor transient (a bad payload, a configuration error) keeps its built-in base
(`ValueError`, `RuntimeError`) as well, so the code that catches it is unchanged.

Pure Python: nothing here imports gRPC, so the event path (`dispatch`, `poison`) does not either.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


class ConflictError(TransientError):
    """An optimistic write lost: the ETag did not match or the key already exists.

    Transient: contention passes. A handler that still loses after `retry_conflicts` has the
    message redelivered (never dead-lettered at once); a caller to whom a lost insert-only
    write means "someone else created it" catches `ConflictError` and reads the winner.
    """


class SettingsError(BinderyError, ValueError):
    """A setting (an environment variable) is missing or unusable: the app stops at start."""


class RedeliverError(BinderyError):
    """The event path's signal to the server: answer UNAVAILABLE so the sidecar leaves the message queued."""


_PERMANENT = frozenset(
    {"INVALID_ARGUMENT", "NOT_FOUND", "PERMISSION_DENIED", "UNAUTHENTICATED", "UNIMPLEMENTED", "OUT_OF_RANGE"}
)
_CONFLICT = frozenset({"ABORTED", "ALREADY_EXISTS", "FAILED_PRECONDITION"})
# How state stores word a lost optimistic write when the code does not say it: sqlite and most
# stores raise an ETag mismatch (ABORTED), but PostgreSQL (v1 and v2) answers an insert-only
# (first-write, no ETag) save of an existing key with a plain "no item was updated" (INTERNAL).
_CONFLICT_PHRASES = ("etag mismatch", "no item was updated")
# A call cut off in flight: the sidecar died or the connection reset after the request was sent.
# UNAVAILABLE also means "never connected" (the request did not leave the app): only that, said in
# gRPC's own words, is a plain TransientError.
_IN_DOUBT = frozenset({"UNAVAILABLE", "CANCELLED", "DEADLINE_EXCEEDED"})
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
    message = f"{action}: {code or 'UNKNOWN'}: {details}"
    if code in _CONFLICT or any(phrase in details.lower() for phrase in _CONFLICT_PHRASES):
        return ConflictError(message)
    if code in _PERMANENT:
        return PermanentError(message)
    if code in _IN_DOUBT and not any(phrase in details.lower() for phrase in _NEVER_SENT_PHRASES):
        return InDoubtError(message)
    return TransientError(message)


_OK, _MULTIPLE_CHOICES, _TOO_MANY_REQUESTS, _SERVER_ERROR = 200, 300, 429, 500


def http_error(status: int, who: str, detail: str = "") -> BinderyError | None:
    """The error an HTTP answer means (httpx's `raise_for_status`, with our two kinds), or None for 2xx.

    No answer (status 0, as a binding reports a transport failure), 1xx, 429 and 5xx are
    `TransientError`: retry later. Any other non-2xx is `PermanentError`: the request itself
    was refused. `who` names the server ("SendGrid"); the message reads "SendGrid answered 503:
    `detail`". A caller that reads refusals itself (a card decline is a 402 with a body) raises
    only the transient ones.
    """
    if _OK <= status < _MULTIPLE_CHOICES:
        return None
    message = f"{who} answered {status or 'nothing'}" + (f": {detail}" if detail else "")
    if status < _OK or status == _TOO_MANY_REQUESTS or status >= _SERVER_ERROR:
        return TransientError(message)
    return PermanentError(message)


def _code(error: grpc.RpcError) -> str | None:
    """The status code's name (`grpc.StatusCode` is an enum): read by name, so gRPC need not be imported."""
    code = getattr(error, "code", None)
    value = code() if callable(code) else None
    return value.name if isinstance(value, enum.Enum) else None


def _details(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    value = details() if callable(details) else None
    return str(value) if value else str(error)
