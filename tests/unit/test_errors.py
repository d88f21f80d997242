"""One hierarchy under BinderyError; the one translation of gRPC codes and the one of HTTP statuses."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import grpc
import pytest

from bindings import errors
from bindings.errors import (
    BinderyError,
    ConflictError,
    InDoubtError,
    PermanentError,
    TransientError,
    translate,
)


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


def _project_modules() -> list[str]:
    """Every module of the framework, the functions and the tooling (the `__main__` entry points excepted)."""
    names: list[str] = []
    for package in ("bindings", "functions", "tooling"):
        root = importlib.import_module(package)
        walked = pkgutil.walk_packages(root.__path__, f"{package}.")
        names.extend(info.name for info in walked if not info.name.endswith("__main__"))
    return names


def test_every_exception_class_of_the_project_derives_from_bindery_error() -> None:
    """Walks bindings/, functions/ and tooling/: each exception class defined there is a BinderyError."""
    found: dict[str, type[BaseException]] = {}
    for name in _project_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    assert {
        "bindings.payload.PayloadError",
        "functions.common.links.LinkConfigError",
        "tooling.daprd_builds.DaprdError",
    } <= set(found)
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, BinderyError))
    assert outside == []


def test_the_redelivery_signal_is_in_the_hierarchy_and_the_event_path_loads_no_grpc() -> None:
    """RedeliverError lives in bindings.errors; dispatch, poison and errors import without gRPC."""
    assert issubclass(errors.RedeliverError, BinderyError)
    code = "import sys, bindings.dispatch, bindings.poison, bindings.errors; print('grpc' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_conflict_is_transient_not_permanent() -> None:
    """Contention is transient by nature: a ConflictError is redelivered, never dead-lettered at once."""
    assert issubclass(ConflictError, TransientError)
    assert not issubclass(ConflictError, PermanentError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0, TransientError),  # no answer at all
        (100, TransientError),
        (200, None),
        (201, None),
        (202, None),
        (204, None),
        (301, PermanentError),
        (400, PermanentError),
        (401, PermanentError),
        (402, PermanentError),
        (404, PermanentError),
        (409, PermanentError),
        (422, PermanentError),
        (429, TransientError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
    ],
)
def test_the_http_translation_table(status: int, expected: type[BinderyError] | None) -> None:
    """2xx is success; no answer, 1xx, 429 and 5xx are transient; any other status is permanent."""
    error = errors.http_error(status, "SendGrid", "the body")
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    said = f"answered {status}" if status else "answered nothing"
    assert str(error) == f"SendGrid {said}: the body"
