"""The card-processor port: a charge's answer, the protocol, its Dapr implementation over `bindings.http`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bindings.client import call
from bindings.errors import TransientError, http_error


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """The processor's answer to a charge, as status code and JSON body."""

    status: int
    body: bytes


class PaymentGateway(Protocol):
    """A card processor reached through one HTTP output binding."""

    def charge(self, body: bytes, *, idempotency_key: str) -> ChargeResult:
        """POST a charge with the `Idempotency-Key` header; replays return the first result.

        Returns 2xx and 4xx answers (a decline is a 402 with its body); raises `TransientError`
        for 429, 5xx and timeouts, which are retried with the same key.
        """


class DaprPaymentGateway:
    """`PaymentGateway` over a `bindings.http` output binding."""

    def __init__(self, binding: str, *, path: str = "/v1/charges") -> None:
        self.binding = binding
        self.path = path

    def charge(self, body: bytes, *, idempotency_key: str) -> ChargeResult:
        """POST `body` with the `Idempotency-Key` header; return 2xx and 4xx answers, raise on the rest.

        The binding is told not to turn non-2xx answers into errors (`errorIfNot2XX`), so a
        decline (402) arrives with its body. What `errors.http_error` calls transient (429, 5xx, no
        answer) and timeouts and transport failures raise `TransientError`: retry later with the same key.
        """
        request = {
            "path": self.path,
            "errorIfNot2XX": "false",
            "Idempotency-Key": idempotency_key,
            "Content-Type": "application/json",
        }
        response = call(
            f"charge via {self.binding}", lambda c: c.invoke_binding(self.binding, "post", body, request)
        )
        status = int(response.binding_metadata.get("statusCode", "0") or 0)
        error = http_error(status, f"charge via {self.binding}: processor")
        if isinstance(error, TransientError):
            raise error
        return ChargeResult(status=status, body=bytes(response.data))
