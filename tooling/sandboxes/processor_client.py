"""A client of the processor sandbox over HTTP: a `StripeRequest` transport, scripts, invoices, the ledger."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from bindings.errors import TransientError
from functions.common.stripe import StripeAnswer, StripeRequest

SANDBOX_SECRET_KEY = "sk_test_bindery_sandbox"  # noqa: S105 - a test key only the sandbox takes
"""A secret key the sandbox accepts (it takes any `sk_test_…`), as a component's secret store would hold."""


class SandboxTransport:
    """Stripe requests straight to a sandbox on loopback, with the secret key a component would add."""

    def __init__(self, port: int, timeout: float = 5.0, secret_key: str = SANDBOX_SECRET_KEY) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout
        self._authorization = f"Bearer {secret_key}"

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Send the request; every HTTP answer (2xx to 5xx) comes back, and only no answer raises.

        Raises `TransientError` when the sandbox does not answer: a timeout, a refused or broken connection.
        """
        headers = dict(request.headers) | {"Authorization": self._authorization}
        try:
            return StripeAnswer(*self._call(request.method, request.path, request.body, headers))
        except urllib.error.HTTPError as error:
            with error:
                return StripeAnswer(status=error.code, body=error.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException) as error:
            raise TransientError(f"processor sandbox did not answer: {error}") from error

    def script(self, customer: str, outcomes: list[str]) -> None:
        """Queue `outcomes` for `customer`'s next payments."""
        body = json.dumps({"customer": customer, "outcomes": outcomes}).encode()
        self._call("POST", "/v1/script", body, {"Content-Type": "application/json"})

    def create_invoice(self, customer: str, amount: int, currency: str) -> str:
        """Create an open invoice for `customer` in the sandbox; return its `in_…` id."""
        body = json.dumps({"customer": customer, "amount": amount, "currency": currency}).encode()
        invoice: dict[str, Any] = json.loads(
            self._call("POST", "/v1/sandbox/invoices", body, {"Content-Type": "application/json"})[1]
        )
        return str(invoice["id"])

    def ledger(self) -> list[dict[str, Any]]:
        """Every payment the sandbox recorded, in order."""
        lines: list[dict[str, Any]] = json.loads(self._call("GET", "/v1/ledger", None, {})[1])
        return lines

    def _call(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
            self.base + path, data=body, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
