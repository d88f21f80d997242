"""The Stripe adapter: which request an order becomes, and what is never sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import pytest

from bindings.errors import TransientError
from functions.common import stripe
from functions.common.payments import ChargeOrder, Paid, Refused
from functions.common.stripe import StripeAnswer, StripeRequest
from functions.common.stripe_gateway import StripeGateway

PAID_INTENT = StripeAnswer(
    200, json.dumps({"id": "pi_1", "object": "payment_intent", "status": "succeeded"}).encode()
)
PAID_INVOICE = StripeAnswer(200, json.dumps({"id": "in_9", "object": "invoice", "status": "paid"}).encode())


@dataclass
class Recording:
    """A transport that records each request and answers with `answer`, or raises `error`."""

    answer: StripeAnswer = PAID_INTENT
    error: Exception | None = None
    sent: list[StripeRequest] = field(default_factory=list)

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Record, then answer."""
        self.sent.append(request)
        if self.error is not None:
            raise self.error
        return self.answer


def _order(**changes: object) -> ChargeOrder:
    fields: dict[str, object] = {
        "case_id": "pay_1", "attempt": 2, "key": "pay_1:2", "amount": 1250, "currency": "EUR",
        "customer": "cus_1", "payment_method": "pm_card_visa", "invoice": None,
    }  # fmt: skip
    fields.update(changes)
    return ChargeOrder(**fields)  # type: ignore[arg-type]


def test_an_order_without_an_invoice_creates_one_payment_intent_for_the_attempt() -> None:
    """The request is exactly the wire module's PaymentIntent for the attempt, under the attempt's key."""
    transport = Recording()
    assert StripeGateway(transport).charge(_order()) == Paid(charge_id="pi_1")
    [request] = transport.sent
    expected = stripe.create_payment_intent(
        case_id="pay_1",
        attempt=2,
        amount=1250,
        currency="EUR",
        customer="cus_1",
        payment_method="pm_card_visa",
    )
    assert request == expected
    assert request.header("Idempotency-Key") == "pay_1:2"
    form = dict(parse_qsl(request.body.decode()))
    assert (form["metadata[case_id]"], form["metadata[attempt]"], form["currency"]) == ("pay_1", "2", "eur")


def test_an_order_naming_an_invoice_pays_that_invoice() -> None:
    """With an invoice, the open invoice is paid off-session, read as an invoice answer."""
    transport = Recording(answer=PAID_INVOICE)
    assert StripeGateway(transport).charge(_order(invoice="in_9")) == Paid(charge_id="in_9")
    [request] = transport.sent
    assert request.path == "/v1/invoices/in_9/pay"
    assert dict(parse_qsl(request.body.decode())) == {"off_session": "true", "payment_method": "pm_card_visa"}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"customer": "customer 1"}, "not a Stripe id"),
        ({"payment_method": "card"}, "not a Stripe id"),
        ({"invoice": "9"}, "not a Stripe id"),
        ({"currency": "XXX"}, "not payable"),
        ({"key": "pay_1-2"}, "not Stripe's key format"),
    ],
)
def test_an_order_that_cannot_be_put_on_the_wire_is_refused_unsent(
    changes: dict[str, object], why: str
) -> None:
    """Data Stripe could not take is our fault: refused with the reason, and nothing is sent."""
    transport = Recording()
    answer = StripeGateway(transport).charge(_order(**changes))
    assert isinstance(answer, Refused)
    assert why in answer.reason
    assert transport.sent == []


def test_no_answer_is_transient() -> None:
    """A transport without an answer raises `TransientError`: the attempt is asked again, same key."""
    with pytest.raises(TransientError):
        StripeGateway(Recording(error=TransientError("cut"))).charge(_order())
