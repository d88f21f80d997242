"""The one translation of sidecar gRPC errors into PermanentError, ConflictError and TransientError."""

from __future__ import annotations

import grpc
import pytest

from bindings.errors import ConflictError, InDoubtError, PermanentError, TransientError, translate


class FakeRpcError(grpc.RpcError):  # type: ignore[misc]  # grpc ships no type hints
    """An RpcError with a status code and details, like DaprGrpcError."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        """The status code."""
        return self._code

    def details(self) -> str:
        """The details."""
        return self._details


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (grpc.StatusCode.ABORTED, "failed saving state: possible etag mismatch", ConflictError),
        (grpc.StatusCode.INTERNAL, "error: possible etag mismatch", ConflictError),
        (
            grpc.StatusCode.INTERNAL,
            "failed saving state in state store statestore: no item was updated",
            ConflictError,
        ),
        (grpc.StatusCode.INVALID_ARGUMENT, "bad key", PermanentError),
        (grpc.StatusCode.NOT_FOUND, "binding documents not found", PermanentError),
        (grpc.StatusCode.PERMISSION_DENIED, "token", PermanentError),
        (grpc.StatusCode.UNAVAILABLE, "connection refused", TransientError),
        (
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:3500: Failed to connect",
            TransientError,
        ),
        (grpc.StatusCode.UNAVAILABLE, "Stream removed (Socket closed)", InDoubtError),
        (grpc.StatusCode.UNAVAILABLE, "recvmsg:Connection reset by peer", InDoubtError),
        (grpc.StatusCode.CANCELLED, "Received RST_STREAM", InDoubtError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "slow", InDoubtError),
        (grpc.StatusCode.INTERNAL, "error invoking output binding documents: EOF", TransientError),
        (grpc.StatusCode.UNKNOWN, "?", TransientError),
    ],
)
def test_status_codes_map_to_our_errors(
    code: grpc.StatusCode, details: str, expected: type[Exception]
) -> None:
    """Permanent codes are permanent, conflicts conflicts, calls cut off in doubt, the rest worth retrying."""
    error = translate(FakeRpcError(code, details), "save state 'k'")
    assert type(error) is expected
    assert str(error).startswith(f"save state 'k': {code.name}: {details}")
