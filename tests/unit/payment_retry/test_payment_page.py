"""The processor's page for a payment (payment.failed version 3): kept, mailed when the customer must act."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from functions.common import names
from functions.common.messages import EmailRequested
from functions.common.stripe import StripeAnswer
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import Case, PaymentEvent, PaymentFailed
from tests.unit.payment_retry.test_processor_errors import NOON, SOFT, Processor, World
from tests.unit.payment_retry.test_stripe_modes import AUTHENTICATE, DAY1

PAGE = "https://invoice.stripe.com/i/acct_1/in_7"
AUTH = {"code": "authentication_required", "decline_code": "authentication_required"}
DECLINED = StripeAnswer(402, json.dumps({"error": {"type": "card_error", **SOFT}}).encode())


def failed_v3(**fields: Any) -> PaymentFailed:
    """payment.failed version 3 of case pay_1: an invoice and its hosted page, unless `fields` differ."""
    return PaymentFailed.model_validate({
        "type": "payment.failed", "version": 3, "event_id": "evt_1", "payment_id": "pay_1",
        "customer_id": "cus_1", "subscription_id": "sub_1", "email": "cus_1@example.com", "amount": 1999,
        "currency": "eur", "failed_at": NOON.isoformat(), "decline": SOFT, "invoice": "in_7",
        "payment_page_url": PAGE, **fields,
    })  # fmt: skip


def emails(world: World) -> list[EmailRequested]:
    """The email requests the case sent, in order."""
    return world.sent(names.EMAIL_REQUESTS_OUT)


def test_the_case_remembers_the_page() -> None:
    """The case keeps payment_page_url from the event, and its record round-trips through state."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(), NOON)
    assert world.case().payment_page_url == PAGE
    assert json.loads(world.state.get("case:pay_1").value or b"{}")["payment_page_url"] == PAGE


def test_an_attempt_that_needs_the_customer_mails_the_page() -> None:
    """Authentication required on an invoice: the attempt's email is version 2, with the page and its host."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(), NOON)
    world.tick(DAY1)
    first, attempt = emails(world)
    assert (first.template, first.template_version, "payment_page_url" in first.data) == (
        "payment_failed", 1, False
    )  # fmt: skip
    assert (attempt.template, attempt.template_version) == ("reminder", 2)
    assert (attempt.data["payment_page_url"], attempt.data["payment_page_host"]) == (
        PAGE,
        "invoice.stripe.com",
    )
    assert world.case().waiting_for_update


def test_a_first_failure_that_needs_the_customer_mails_the_page_at_once() -> None:
    """A failure declined authentication_required: the failure notice itself carries the page."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(decline=AUTH), NOON)
    [notice] = emails(world)
    assert (notice.template, notice.template_version, notice.data["payment_page_url"]) == (
        "payment_failed", 2, PAGE
    )  # fmt: skip
    assert world.case().waiting_for_update


def test_an_ordinary_decline_of_an_invoice_mails_no_page() -> None:
    """A soft decline is retried on the schedule: its email is version 1, without the page."""
    world = World(Processor([DECLINED]))
    handle_event(world.dunning, failed_v3(), NOON)
    world.tick(DAY1)
    assert [(mail.template_version, "payment_page_url" in mail.data) for mail in emails(world)] == [
        (1, False), (1, False)
    ]  # fmt: skip


def test_a_payment_intent_case_that_needs_the_customer_mails_the_usual_card_update() -> None:
    """No invoice, so no page: the attempt's email is the usual version 1 asking for a new card."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(invoice=None, payment_page_url=None, payment_method="pm_1"), NOON)
    world.tick(DAY1)
    assert [(mail.template, mail.template_version) for mail in emails(world)] == [
        ("payment_failed", 1), ("reminder", 1)
    ]  # fmt: skip
    assert all("payment_page_url" not in mail.data for mail in emails(world))
    assert world.case().waiting_for_update


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_event_carrying_the_page_is_refused(version: int) -> None:
    """payment_page_url in a version 1 or 2 event: an older reader would drop it, so it is invalid."""
    fields: dict[str, Any] = {"version": version} | ({"invoice": None} if version == 1 else {})
    with pytest.raises(
        ValidationError, match=f"payment_page_url: fields of version 3, in a version {version}"
    ):
        failed_v3(**fields)


def test_old_events_stay_readable() -> None:
    """Versions 1 and 2 (without the page) still parse from the queue's union and open cases."""
    events: TypeAdapter[Any] = TypeAdapter(PaymentEvent)
    v2 = failed_v3(version=2, payment_page_url=None).model_dump(mode="json", exclude_none=True)
    v1 = {key: value for key, value in v2.items() if key not in {"invoice", "version"}}
    for data in (v1, v2):
        event = events.validate_python(data)
        assert isinstance(event, PaymentFailed)
        assert event.payment_page_url is None
        world = World(Processor([AUTHENTICATE]))
        handle_event(world.dunning, event, NOON)
        assert world.case().payment_page_url is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"payment_page_url": "javascript:alert(1)"}, "not a safe link"),
        ({"payment_page_url": "http://invoice.example/i/1"}, "http is only allowed to loopback"),
        ({"payment_page_url": "https://invoice.stripe.com/" + "a" * 2_000}, "at most 2000"),
        ({"invoice": None}, "payment_page_url is the page of an invoice"),
    ],
    ids=["javascript", "public-http", "too-long", "without-invoice"],
)
def test_an_unsafe_or_stray_page_is_refused_with_the_reason(fields: dict[str, Any], reason: str) -> None:
    """A page no email may carry, or one without its invoice, makes the event invalid (a dead letter)."""
    with pytest.raises(ValidationError, match=reason):
        failed_v3(**fields)


def test_a_case_without_a_page_is_stored_as_before() -> None:
    """The record leaves payment_page_url out when there is none: the release before it still reads it."""
    world = World(Processor([AUTHENTICATE]))
    handle_event(world.dunning, failed_v3(payment_page_url=None), NOON)
    stored = json.loads(world.state.get("case:pay_1").value or b"{}")
    assert "payment_page_url" not in stored
    assert set(stored) <= set(Case.model_fields) - {"payment_page_url"}
    assert CaseStore(world.state).get("pay_1")[0] == world.case()
