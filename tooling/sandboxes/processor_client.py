"""A client of the processor sandbox over HTTP: a `StripeRequest` transport, scripts, invoices, the ledger.

Besides `send` (what a component would send Stripe), the sandbox's controls: `script`, `create_invoice`,
`fail_invoice` (Stripe Billing's own attempt declined, posting `invoice.payment_failed`), `set_webhook`
(where the sandbox posts its signed events) and `ledger`.
"""

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
        self._control("/v1/script", {"customer": customer, "outcomes": outcomes})

    def create_invoice(
        self,
        customer: str,
        amount: int,
        currency: str,
        *,
        email: str | None = None,
        subscription: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Create an open invoice for `customer` (of `subscription`, to `email`, with `metadata`); its id."""
        fields: dict[str, object] = {"email": email, "subscription": subscription, "metadata": metadata}
        request = {"customer": customer, "amount": amount, "currency": currency}
        invoice = self._control("/v1/sandbox/invoices", request | {k: v for k, v in fields.items() if v})
        return str(invoice["id"])

    def fail_invoice(self, invoice: str, outcome: str, *, created: int | None = None) -> dict[str, Any]:
        """Decline Stripe's own attempt at `invoice` as `outcome`, failed at `created`; the open Invoice."""
        body: dict[str, Any] = (
            {"outcome": outcome} if created is None else {"outcome": outcome, "created": created}
        )
        return self._control(f"/v1/sandbox/invoices/{invoice}/fail", body)

    def set_webhook(self, url: str, secret: str) -> None:
        """Have the sandbox post its events to `url`, signed with `secret` (`whsec_…`)."""
        self._control("/v1/sandbox/webhook", {"url": url, "secret": secret})

    def ledger(self) -> list[dict[str, Any]]:
        """Every payment the sandbox recorded, in order."""
        lines: list[dict[str, Any]] = json.loads(self._call("GET", "/v1/ledger", None, {})[1])
        return lines

    def _control(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(request).encode()
        answer: dict[str, Any] = json.loads(
            self._call("POST", path, body, {"Content-Type": "application/json"})[1]
        )
        return answer

    def _call(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
            self.base + path, data=body, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
