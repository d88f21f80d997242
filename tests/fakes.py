"""Small fakes behind the typed ports, for unit tests."""

from __future__ import annotations

import itertools
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping

from pydantic import BaseModel

from bindings.errors import ConflictError, TransientError
from bindings.ports import ChargeResult, StateItem


class FakeBlobStore:
    """A `BlobStore` in memory; `fail` makes every put raise."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.fail: Exception | None = None

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Store or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        self.blobs[name] = (data, content_type, dict(metadata or {}))

    def get(self, name: str) -> bytes:
        """Return a stored blob."""
        return self.blobs[name][0]


class FakeStateStore:
    """A thread-safe `StateStore` with the sidecar's ETag semantics: insert-only create, guarded saves."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)

    def get(self, key: str) -> StateItem:
        """Read `key`."""
        with self._lock:
            value, etag = self._items.get(key, (None, None))
        return StateItem(key=key, value=value, etag=etag)

    def save(self, key: str, value: bytes, *, etag: str | None = None) -> None:
        """Write, guarded by `etag` when given."""
        with self._lock:
            if etag is not None and self._items.get(key, (b"", None))[1] != etag:
                raise ConflictError(f"etag mismatch on {key}")
            self._items[key] = (value, str(next(self._versions)))

    def create(self, key: str, value: bytes) -> None:
        """Write only if absent."""
        with self._lock:
            if key in self._items:
                raise ConflictError(f"{key} exists")
            self._items[key] = (value, str(next(self._versions)))

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete, guarded by `etag` when given."""
        with self._lock:
            if etag is not None and self._items.get(key, (b"", None))[1] != etag:
                raise ConflictError(f"etag mismatch on {key}")
            self._items.pop(key, None)

    def keys(self, prefix: str = "") -> list[str]:
        """The keys stored, for assertions."""
        with self._lock:
            return sorted(key for key in self._items if key.startswith(prefix))


class FakeQueue:
    """A `Queue` that keeps what was sent; `fail` makes sends raise."""

    def __init__(self, binding: str) -> None:
        self.binding = binding
        self.sent: list[BaseModel] = []
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def send(self, message: BaseModel) -> None:
        """Record or raise `fail`."""
        if self.fail is not None:
            raise self.fail
        with self._lock:
            self.sent.append(message)


class SandboxGateway:
    """A `PaymentGateway` over HTTP to a processor sandbox, with DaprPaymentGateway's contract."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.url = f"http://127.0.0.1:{port}/v1/charges"
        self.timeout = timeout

    def charge(self, body: bytes, *, idempotency_key: str) -> ChargeResult:
        """POST the charge; 5xx and timeouts raise TransientError."""
        request = urllib.request.Request(  # noqa: S310 - loopback sandbox
            self.url, data=body, method="POST",
            headers={"Idempotency-Key": idempotency_key, "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return ChargeResult(status=response.status, body=response.read())
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise TransientError(f"processor answered {error.code}") from error
            return ChargeResult(status=error.code, body=error.read())
        except (TimeoutError, urllib.error.URLError) as error:
            raise TransientError(f"processor did not answer: {error}") from error
