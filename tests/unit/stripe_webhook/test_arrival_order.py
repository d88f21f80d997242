"""Stripe's events in both arrival orders, mapped and handed to the payment engine over in-memory state.

Stripe does not order its deliveries: an invoice's `invoice.paid` may arrive before the
`invoice.payment_failed` that preceded it. Both name the case by the invoice, so the engine closes the
case either way, and a redelivered failure is the same case, not a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common import domain_events, names
from functions.common.stripe_gateway import DaprStripeTransport, StripeGateway
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import Dunning
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import PaymentFailed, PaymentSucceeded
from functions.stripe_webhook.mapping import PaymentEvent, map_event
from tests.unit.stripe_webhook.invoice_payments import looked_up
from tests.unit.stripe_webhook.stripe_events import CREATED, INVOICE, event, invoice, paid_invoice

FAILED = event("invoice.payment_failed", invoice(), event_id="evt_1QZrA9K2vT4xLpNcFail")
PAID = event("invoice.paid", paid_invoice(), event_id="evt_1QZrC3K2vT4xLpNcPaid")
NOW = datetime.fromtimestamp(CREATED + 7200, UTC)


def engine() -> tuple[Dunning, dict[str, MemoryQueue]]:
    """The payment engine over a fresh in-memory state store and queues (nothing here charges)."""
    queues = {
        name: MemoryQueue(name)
        for name in (
            names.EMAIL_REQUESTS_OUT,
            names.RECEIPT_REQUESTS_OUT,
            names.SUBSCRIPTION_ACTIONS_OUT,
            domain_events.DUNNING_QUEUE,
        )
    }
    gateway = StripeGateway(DaprStripeTransport(names.PAYMENT_GATEWAY))
    return Dunning(cases=CaseStore(MemoryStateStore()), gateway=gateway, queues=queues, owner="r1"), queues


def consumed(stripe_event: dict[str, Any]) -> PaymentFailed | PaymentSucceeded:
    """The payment event the intake would queue, as payment-retry reads it."""
    result = map_event(stripe_event, looked_up)
    assert isinstance(result, PaymentEvent)
    if result.root["type"] == "payment.failed":
        return PaymentFailed.model_validate(result.root)
    return PaymentSucceeded.model_validate(result.root)


@pytest.mark.parametrize(
    ("order", "emails"),
    [
        pytest.param((FAILED, PAID), ["payment_failed"], id="failure-then-payment"),
        pytest.param((PAID, FAILED), [], id="payment-then-failure"),
    ],
)
def test_an_invoice_paid_in_either_order_closes_its_case_without_a_charge(
    order: tuple[dict[str, Any], ...], emails: list[str]
) -> None:
    """Failure then payment, or payment first: one case for the invoice, closed, never charged."""
    dunning, queues = engine()
    for stripe_event in order:
        handle_event(dunning, consumed(stripe_event), NOW)
    case, _ = dunning.cases.get(INVOICE)
    assert case is not None
    assert (case.status, case.attempts, case.invoice) == ("canceled", (), INVOICE)
    assert [m.template for m in queues[names.EMAIL_REQUESTS_OUT].sent] == emails  # type: ignore[attr-defined]


def test_a_redelivered_failure_is_one_case() -> None:
    """The same invoice.payment_failed delivered twice: one case, one failure email."""
    dunning, queues = engine()
    for _ in range(2):
        handle_event(dunning, consumed(FAILED), NOW)
    case, _ = dunning.cases.get(INVOICE)
    assert case is not None
    assert case.is_open
    assert len(queues[names.EMAIL_REQUESTS_OUT].sent) == 1
