"""The Stripe adapter behind `PaymentGateway`, and its Dapr transport over the `payment-gateway` binding.

`StripeGateway.charge` picks the mode from the order: an order naming an invoice pays that open
invoice (`POST /v1/invoices/{id}/pay`); any other creates and confirms one PaymentIntent for the
attempt (`POST /v1/payment_intents`). The request is built by `stripe` (form body, the attempt's
idempotency key, the pinned `Stripe-Version`), sent through a `StripeTransport`, and read by
`stripe_answers` — the one place Stripe's answers become outcomes. A request that cannot be built
(a customer id that is not Stripe's, say) is `Refused` without a call: our data's fault, not the card's.

`DaprStripeTransport` is the production transport: the `bindings.http` output binding, which adds the
secret key from its component (`securityToken`), never from here. The local tooling has another
transport straight to the sandbox; both carry the very requests this module builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bindings.client import call
from bindings.errors import TransientError
from functions.common import stripe, stripe_answers
from functions.common.payments import Answer, ChargeOrder, Refused

if TYPE_CHECKING:
    from functions.common.stripe import StripeAnswer, StripeRequest


class StripeTransport(Protocol):
    """Sends one request to Stripe and returns its answer, whatever the status."""

    def send(self, request: StripeRequest) -> StripeAnswer:
        """The answer (2xx to 5xx); `TransientError` when there is none (timeout, connection cut)."""


class DaprStripeTransport:
    """`StripeTransport` over a `bindings.http` output binding whose component holds the secret key."""

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Invoke the binding's `get` or `post` (the method) with path and headers; status 0: no answer."""
        operation = request.method.lower()
        response = call(
            f"Stripe via {self.binding}",
            lambda c: c.invoke_binding(self.binding, operation, request.body, request.binding_metadata()),
        )
        status = int(response.binding_metadata.get("statusCode", "0") or 0)
        if status == 0:
            raise TransientError(f"Stripe via {self.binding}: no answer")
        return stripe.StripeAnswer(status=status, body=bytes(response.data))


class StripeGateway:
    """`PaymentGateway` for Stripe: one PaymentIntent per attempt, or the open invoice paid."""

    def __init__(self, transport: StripeTransport) -> None:
        self.transport = transport

    def charge(self, order: ChargeOrder) -> Answer:
        """Build the order's request, send it under the attempt's key, read the answer."""
        try:
            request = _request(order)
        except stripe.StripeWireError as error:
            return Refused(reason=f"not sent to Stripe: {error}")
        if request.header("Idempotency-Key") != order.key:
            return Refused(reason=f"not sent to Stripe: attempt key {order.key!r} is not Stripe's key format")
        mode: stripe_answers.Mode = "invoice" if order.invoice else "payment_intent"
        return stripe_answers.read_answer(self.transport.send(request), mode)


def _request(order: ChargeOrder) -> StripeRequest:
    if order.invoice is not None:
        return stripe.pay_invoice(
            invoice=order.invoice, case_id=order.case_id, attempt=order.attempt,
            payment_method=order.payment_method,
        )  # fmt: skip
    return stripe.create_payment_intent(
        case_id=order.case_id, attempt=order.attempt, amount=order.amount, currency=order.currency,
        customer=order.customer, payment_method=order.payment_method,
    )  # fmt: skip
