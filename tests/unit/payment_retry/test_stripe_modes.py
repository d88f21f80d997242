"""What payment events tell the Stripe adapter: the invoice to pay, the card to charge, who must act."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pydantic import ValidationError

from functions.common import names
from functions.common.stripe import StripeAnswer
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import PaymentFailed, PaymentMethodUpdated, PaymentSucceeded
from tests.unit.payment_retry.test_double_collection import InFlight
from tests.unit.payment_retry.test_processor_errors import NOON, OK, SOFT, Processor, World

PAID_INVOICE = StripeAnswer(200, json.dumps({"id": "in_7", "object": "invoice", "status": "paid"}).encode())
AUTHENTICATE = StripeAnswer(
    402,
    json.dumps({"error": {
        "type": "card_error", "code": "authentication_required", "decline_code": "authentication_required",
        "advice_code": "try_again_later", "message": "This transaction requires authentication.",
    }}).encode(),
)  # fmt: skip
ALREADY_PAID = StripeAnswer(
    400,
    json.dumps({"error": {"type": "invalid_request_error", "message": "Invoice is already paid"}}).encode(),
)
DAY1 = NOON + timedelta(days=1, seconds=5)


def failed_v2(**fields: Any) -> PaymentFailed:
    """payment.failed version 2 of case pay_1, with what the processor knows it by."""
    return PaymentFailed.model_validate({
        "type": "payment.failed", "version": 2, "event_id": "evt_1", "payment_id": "pay_1",
        "customer_id": "cus_1", "subscription_id": "sub_1", "email": "cus_1@example.com", "amount": 1999,
        "currency": "eur", "failed_at": NOON.isoformat(), "decline": SOFT, **fields,
    })  # fmt: skip


def _form(world: World, index: int = -1) -> dict[str, str]:
    return dict(parse_qsl(world.processor.requests[index].body.decode()))


def test_a_failed_invoice_is_retried_by_paying_that_invoice() -> None:
    """Version 2 with an invoice: the retry pays the open invoice; the case is recovered by its id."""
    world = World(Processor([PAID_INVOICE]))
    handle_event(world.dunning, failed_v2(invoice="in_7", payment_method="pm_card_visa"), NOON)
    world.tick(DAY1)
    assert [r.path for r in world.processor.requests] == ["/v1/invoices/in_7/pay"]
    assert _form(world) == {"off_session": "true", "payment_method": "pm_card_visa"}
    case = world.case()
    assert (case.status, case.attempts[0].charge_id) == ("recovered", "in_7")


def test_a_failed_charge_is_retried_with_a_new_payment_intent_from_its_card() -> None:
    """Version 2 without an invoice: one PaymentIntent for the attempt, from the payment method named."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed_v2(payment_method="pm_card_visa"), NOON)
    world.tick(DAY1)
    assert [r.path for r in world.processor.requests] == ["/v1/payment_intents"]
    form = _form(world)
    assert (form["payment_method"], form["amount"], form["currency"]) == ("pm_card_visa", "1999", "eur")
    assert world.case().status == "recovered"


def test_a_version_1_event_carries_no_version_2_fields() -> None:
    """An invoice or payment method in a version 1 event is refused: an older reader would drop them."""
    with pytest.raises(ValidationError, match="fields of version 2"):
        failed_v2(version=1, invoice="in_7")
    update = {"type": "payment_method.updated", "event_id": "evt_pm", "customer_id": "cus_1",
              "updated_at": NOON.isoformat(), "payment_method": "pm_new"}  # fmt: skip
    with pytest.raises(ValidationError, match="fields of version 2"):
        PaymentMethodUpdated.model_validate(update)
    assert PaymentMethodUpdated.model_validate({**update, "version": 2}).payment_method == "pm_new"


def test_authentication_required_waits_for_the_customer_whatever_the_advice() -> None:
    """The issuer wants the cardholder: no retry on the schedule, even when advised to try later."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v2(payment_method="pm_old"), NOON)
    for day in (1, 2, 3, 5):
        world.tick(NOON + timedelta(days=day, seconds=5))
    case = world.case()
    assert world.processor.keys == ["pay_1:1"]
    assert case.waiting_for_update
    assert case.attempts[0].decline_code == "authentication_required"
    assert any(event.what == "waiting for the customer" for event in case.timeline)
    assert len(world.templates()) == 2  # the failure notice, then the attempt's email asking to act
    emailed = world.sent(names.EMAIL_REQUESTS_OUT)[-1]
    assert emailed.data["decline"] == "authentication_required"


def test_a_new_payment_method_is_charged_at_once_by_its_id() -> None:
    """payment_method.updated version 2 wakes the waiting case, which charges the new method."""
    world = World(Processor([AUTHENTICATE, OK]))
    handle_event(world.dunning, failed_v2(payment_method="pm_old"), NOON)
    world.tick(DAY1)
    update = PaymentMethodUpdated.model_validate({
        "type": "payment_method.updated", "version": 2, "event_id": "evt_pm", "customer_id": "cus_1",
        "updated_at": (DAY1 + timedelta(hours=1)).isoformat(), "payment_method": "pm_new",
    })  # fmt: skip
    later = DAY1 + timedelta(hours=2)
    handle_event(world.dunning, update, later)
    world.tick(later + timedelta(seconds=5))
    assert [_form(world, n)["payment_method"] for n in range(2)] == ["pm_old", "pm_new"]
    assert world.processor.keys == ["pay_1:1", "pay_1:2"]
    assert world.case().status == "recovered"


def test_an_invoice_we_paid_reported_back_paid_is_no_double_collection() -> None:
    """Stripe's invoice.paid for the invoice our retry paid is noted once; no refund review, no email."""
    world = World(Processor([PAID_INVOICE]))
    handle_event(world.dunning, failed_v2(invoice="in_7"), NOON)
    world.tick(DAY1)
    mails = world.templates()
    paid = PaymentSucceeded(
        type="payment.succeeded", event_id="evt_paid", payment_id="pay_1", succeeded_at=DAY1
    )
    for _ in range(2):  # Stripe delivers at least once
        handle_event(world.dunning, paid, DAY1 + timedelta(minutes=1))
    world.tick(DAY1 + timedelta(minutes=2))
    case = world.case()
    assert case.status == "recovered"
    assert [event.what for event in case.timeline].count("invoice paid") == 1
    assert world.templates() == mails
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (PAID_INVOICE, "recovered"),
        (ALREADY_PAID, "canceled"),
    ],
    ids=["ours", "another"],
)  # fmt: skip
def test_an_invoice_paid_while_our_payment_is_in_flight_is_never_collected_twice(
    answer: StripeAnswer, status: str
) -> None:
    """invoice.paid arrives while our /pay is out: the answer says whose payment it was; no refund review."""
    processor = InFlight([answer])
    world = World(processor)
    paid = PaymentSucceeded(
        type="payment.succeeded", event_id="evt_paid", payment_id="pay_1", succeeded_at=DAY1
    )
    processor.during.append(lambda: handle_event(world.dunning, paid, DAY1))
    handle_event(world.dunning, failed_v2(invoice="in_7"), NOON)
    world.tick(DAY1)
    case = world.case()
    assert (case.status, case.held) == (status, None)
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []
    receipts = world.sent(names.RECEIPT_REQUESTS_OUT)
    assert len(receipts) == (1 if status == "recovered" else 0)


@pytest.mark.parametrize("zone", ["Europe", "America", "Mars/Olympus", "../etc"])
def test_a_time_zone_that_is_a_folder_or_unknown_is_a_validation_error(zone: str) -> None:
    """A zone name that is a folder of the tz database is refused like any unknown zone (dead letter)."""
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        failed_v2(timezone=zone)
