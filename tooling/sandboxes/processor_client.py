"""A client of the processor sandbox over HTTP: a `PaymentGateway`, scripts and the ledger."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bindings.errors import TransientError, http_error
from functions.common.payments import ChargeResult


class SandboxGateway:
    """A `PaymentGateway` straight to a sandbox on loopback, with DaprPaymentGateway's contract."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.base = f"http://127.0.0.1:{port}/v1"
        self.timeout = timeout

    def charge(self, body: bytes, *, idempotency_key: str) -> ChargeResult:
        """POST the charge; transient answers (`errors.http_error`) and timeouts raise, 4xx come back."""
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        try:
            status, answer = self._call("POST", "/charges", body, headers)
        except urllib.error.HTTPError as error:
            answered = http_error(error.code, "processor")
            if isinstance(answered, TransientError):
                raise answered from error
            return ChargeResult(status=error.code, body=error.read())
        except (TimeoutError, urllib.error.URLError) as error:
            raise TransientError(f"processor did not answer: {error}") from error
        return ChargeResult(status=status, body=answer)

    def script(self, customer: str, outcomes: list[str]) -> None:
        """Queue `outcomes` for `customer`'s next charges."""
        body = json.dumps({"customer": customer, "outcomes": outcomes}).encode()
        self._call("POST", "/script", body, {"Content-Type": "application/json"})

    def ledger(self) -> list[dict[str, Any]]:
        """Every charge the sandbox recorded."""
        lines: list[dict[str, Any]] = json.loads(self._call("GET", "/ledger", None, {})[1])
        return lines

    def _call(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
            self.base + path, data=body, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
