"""Helpers for the processor-sandbox tests: real HTTP to an in-process sandbox, Stripe requests as built.

A test module imports the `*_fixture` functions to use the fixtures `ledger_path`, `sandbox`, `transport`.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from functions.common.stripe import StripeRequest, create_payment_intent, pay_invoice
from tooling.sandboxes.processor import RunningSandbox, start_sandbox
from tooling.sandboxes.processor_client import SANDBOX_SECRET_KEY, SandboxTransport

SLEEP = 0.2
AUTH = {"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer with its headers."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    def error(self) -> tuple[int, str]:
        """The status and the Stripe error's type."""
        return self.status, self.json()["error"]["type"]


@pytest.fixture(name="ledger_path")
def ledger_path_fixture(tmp_path: Path) -> Path:
    """Where the sandbox keeps its ledger."""
    return tmp_path / "ledger.jsonl"


@pytest.fixture(name="sandbox")
def sandbox_fixture(ledger_path: Path) -> Iterator[RunningSandbox]:
    """A sandbox on a free port whose timeouts stall for a fraction of a second."""
    running = start_sandbox(ledger_path, timeout_seconds=SLEEP)
    yield running
    running.shutdown()


@pytest.fixture(name="transport")
def transport_fixture(sandbox: RunningSandbox) -> SandboxTransport:
    """The transport a test sends its Stripe requests through, with the sandbox's secret key."""
    return SandboxTransport(sandbox.port)


def call(port: int, method: str, path: str, body: bytes = b"", **options: Any) -> Reply:
    """One raw HTTP request, for what a `SandboxTransport` does not show (headers) or would not send."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=options.get("timeout", 5))
    try:
        connection.request(method, path, body, options.get("headers", {}))
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def send(port: int, request: StripeRequest, headers: dict[str, str] | None = None, **options: Any) -> Reply:
    """Send a `StripeRequest` raw (to see the answer's headers), with the key unless `headers` replace it."""
    sent = dict(request.headers) | (AUTH if headers is None else headers)
    return call(port, request.method, request.path, request.body, headers=sent, **options)


def intent(
    customer: str = "cus_ok_1", case_id: str = "c-1", attempt: int = 1, amount: int = 1250
) -> StripeRequest:
    """The PaymentIntent the adapter sends for an attempt."""
    return create_payment_intent(
        case_id=case_id, attempt=attempt, amount=amount, currency="EUR", customer=customer,
        payment_method="pm_card_visa",
    )  # fmt: skip


def pay(invoice: str, case_id: str = "c-1", attempt: int = 1) -> StripeRequest:
    """The invoice payment the adapter sends for an attempt."""
    return pay_invoice(invoice=invoice, case_id=case_id, attempt=attempt)


def altered(request: StripeRequest, changes: dict[str, str | None], key: str | None = None) -> StripeRequest:
    """The request with form params changed (None removes one), and another key: what no adapter sends."""
    pairs = [(k, v) for k, v in parse_qsl(request.body.decode(), keep_blank_values=True) if k not in changes]
    pairs += [(name, value) for name, value in changes.items() if value is not None]
    headers = tuple(
        (name, key if key and name == "Idempotency-Key" else value) for name, value in request.headers
    )
    return StripeRequest(request.method, request.path, urlencode(pairs, safe="[]").encode(), headers)


def ledger(port: int, customer: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's ledger lines, or one customer's."""
    lines: list[dict[str, Any]] = call(
        port, "GET", "/v1/ledger" + (f"?customer={customer}" if customer else "")
    ).json()
    return lines
