"""Dunning through the real daprd, Azurite, sqlite state and the processor sandbox."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common import names, stripe
from tests.integration.helpers import midday_zone, read_jsonl
from tooling import deadletters, state_reader
from tooling.sandboxes.processor_client import SandboxTransport
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """payment-retry alone, ticking every second with a budget under that."""
    spec = AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "0.8"}
    )
    return stack_factory(apps=[spec], values={"RETRY_TICK_SCHEDULE": "@every 1s"})


def failed(customer: str, **overrides: Any) -> dict[str, Any]:
    """A payment.failed event whose first retry (a day later) is already due, where it is midday.

    Dunning emails wait out the customer's quiet hours (21:00-08:00): a fixed zone would hold them
    whenever the suite runs in that zone's night.
    """
    payment = f"pay_{uuid.uuid4().hex[:10]}"
    return {
        "type": "payment.failed", "version": 1, "event_id": f"evt_{payment}", "payment_id": payment,
        "customer_id": customer, "subscription_id": f"sub_{payment}", "email": f"{payment}@example.com",
        "amount": 4200, "currency": "usd", "timezone": midday_zone(datetime.now(UTC)),
        "failed_at": (datetime.now(UTC) - timedelta(days=1, minutes=5)).isoformat(),
        "decline": {"code": "card_declined", "decline_code": "insufficient_funds"},
    } | overrides  # fmt: skip


def queued(stack: Stack, queue: str) -> list[dict[str, Any]]:
    """The messages waiting on a queue (peeked, not taken)."""
    client = stack.queue_service().get_queue_client(queue)
    return [json.loads(message.content) for message in client.peek_messages(max_messages=32)]


def send(stack: Stack, event: dict[str, Any]) -> None:
    """Enqueue an event as the processor's webhook relay would: plain JSON."""
    stack.queue_service().get_queue_client("payment-events").send_message(json.dumps(event))


def test_a_failed_payment_is_retried_recovered_and_its_receipt_and_emails_requested(stack: Stack) -> None:
    """payment.failed → case → tick → one charge with key case:1 → receipt and recovered email requested."""
    event = failed("cus_ok_it")
    send(stack, event)
    case_id = event["payment_id"]
    eventually(
        lambda: [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id], "the charge"
    )
    receipts = eventually(
        lambda: [m for m in queued(stack, "receipt-requests") if m["payment_id"] == case_id],
        "the receipt request",
    )
    assert (receipts[0]["amount"], receipts[0]["currency"], receipts[0]["version"]) == (4200, "USD", 1)

    def case_emails() -> list[dict[str, Any]]:
        return [m for m in queued(stack, "email-requests") if m["data"].get("case_id") == case_id]

    eventually(lambda: len(case_emails()) >= 2, "two email requests")
    emails = case_emails()
    assert sorted(m["template"] for m in emails) == ["payment_failed", "recovered"]
    assert all(m["to"] == event["email"] for m in emails)
    assert [line["key"] for line in read_jsonl(stack.ledger) if line["case_id"] == case_id] == [
        f"{case_id}:1"
    ]


def test_bindery_cases_reads_the_sidecars_state_store(stack: Stack) -> None:
    """The table lists a case daprd wrote, its timeline shows the charge, an unknown id is an error."""
    event = failed("cus_ok_cases")
    send(stack, event)
    case_id, database = event["payment_id"], stack.config.root / "state" / "state.db"
    table = eventually(
        lambda: [
            row for row in state_reader.cases_text(database, None, "recovered").splitlines() if case_id in row
        ],
        "the recovered case in the table",
    )
    assert "42.00 USD" in table[0]
    timeline = state_reader.cases_text(database, case_id, None)
    assert f"{case_id}:1" in timeline
    assert "recovered" in timeline
    assert case_id not in state_reader.cases_text(database, None, "abandoned")
    with pytest.raises(ValueError, match="no case pay_missing"):
        state_reader.cases_text(database, "pay_missing", None)


def test_a_charge_the_processor_refuses_as_our_fault_neither_declines_nor_mails(stack: Stack) -> None:
    """A 400 idempotency_error (the key used with other parameters) holds the case: no decline, no email."""
    event = failed("cus_ok_refused")
    case_id = event["payment_id"]
    other = stripe.create_payment_intent(
        case_id=case_id, attempt=1, amount=1, currency="usd", customer="cus_ok_refused"
    )
    assert SandboxTransport(stack.sandbox_port).send(other).status == 200
    send(stack, event)
    database = stack.config.root / "state" / "state.db"

    def held() -> str | None:
        try:
            text = state_reader.cases_text(database, case_id, None) if database.exists() else ""
        except ValueError:  # the case is not written yet
            return None
        return text if "held for an operator" in text else None

    text = eventually(held, "the case held for an operator")
    assert "400 idempotency_error" in text
    assert "a bug in Bindery" in text
    assert f"attempt 1 key {case_id}:1: refused" in text
    assert "declined" not in text

    def emails() -> list[str]:
        return [m["template"] for m in queued(stack, "email-requests") if m["data"].get("case_id") == case_id]

    eventually(emails, "the payment_failed email (sent after the hold is written)")
    time.sleep(2)  # two more ticks: nothing else is sent
    assert emails() == ["payment_failed"]
    assert [line["amount"] for line in read_jsonl(stack.ledger) if line["case_id"] == case_id] == [1]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "payment.refunded"}, "payment.refunded"),
        ({"amount": -5}, "greater than 0"),
        ({"currency": "XYZ"}, "not a current ISO 4217 currency"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"version": 4}, "version"),
        ({"invoice": "in_1"}, "fields of version 2"),
        ({"policy": "nope"}, "no dunning policy"),
    ],
)
def test_bad_payment_events_are_dead_lettered_and_nothing_is_charged(
    stack: Stack, change: dict[str, Any], reason: str
) -> None:
    """Unknown types, bad amounts, currencies, zones, versions or policies: dead-lettered, never charged."""
    event = failed("cus_ok_bad") | change
    send(stack, event)
    text = json.dumps(event).encode()

    def letter() -> Any:
        for stored in deadletters.records(stack.blob_service(), stack.resources):
            if stored.record.body == text:
                return stored.record
        return None

    record = eventually(letter, "the dead letter")
    assert record.source == "payment-events"
    assert reason in record.reason, record.reason
    assert not [line for line in read_jsonl(stack.ledger) if line["case_id"] == event["payment_id"]]


def test_a_success_before_its_late_failure_is_remembered_and_the_card_is_never_charged(stack: Stack) -> None:
    """payment.succeeded, then the late (already due) payment.failed: closed as paid, no charge, no mail."""
    event = failed("cus_ok_paid_first")
    case_id, database = event["payment_id"], stack.config.root / "state" / "state.db"
    paid_at = datetime.now(UTC) - timedelta(days=1)
    paid = {"type": "payment.succeeded", "version": 1, "event_id": f"evt_paid_{case_id}",
            "payment_id": case_id, "succeeded_at": paid_at.isoformat()}  # fmt: skip
    send(stack, paid)

    def handled() -> bool:  # remembered (or, before the fix, dead-lettered): either way taken off the queue
        stored = database.exists() and list(
            state_reader.values(database, names.PAYMENT_RETRY, f"settled:{case_id}")
        )
        letters = deadletters.records(stack.blob_service(), stack.resources)
        return bool(stored) or any(letter.record.body == json.dumps(paid).encode() for letter in letters)

    eventually(handled, "the success handled")
    send(stack, event)

    def written() -> str | None:
        try:
            return state_reader.cases_text(database, case_id, None)
        except ValueError:  # the case is not written yet
            return None

    eventually(written, "the late failure's case")
    time.sleep(3)  # three ticks after the case opened, already due: none of them may charge it
    assert [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id] == []
    assert [m for m in queued(stack, "email-requests") if m["data"].get("case_id") == case_id] == []
    text = state_reader.cases_text(database, case_id, None)
    assert f"case {case_id}: canceled" in text
    assert f"already paid (payment.succeeded evt_paid_{case_id}" in text
    bodies = {stored.record.body for stored in deadletters.records(stack.blob_service(), stack.resources)}
    assert json.dumps(paid).encode() not in bodies


def test_a_success_after_our_recovery_is_listed_double_collected_with_one_refund_review(stack: Stack) -> None:
    """Our charge recovered it, then a success paid earlier arrives: double_collected, one refund review."""
    event = failed("cus_ok_twice")
    case_id, database = event["payment_id"], stack.config.root / "state" / "state.db"
    send(stack, event)
    eventually(
        lambda: case_id in state_reader.cases_text(database, None, "recovered"),
        "the case recovered by our charge",
    )
    [charge] = [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id]
    paid_at = datetime.now(UTC) - timedelta(days=1)  # before our charge: the customer paid elsewhere first
    paid = {"type": "payment.succeeded", "version": 1, "event_id": f"evt_twice_{case_id}",
            "payment_id": case_id, "succeeded_at": paid_at.isoformat()}  # fmt: skip
    for _ in range(2):  # a redelivery owes nothing more
        send(stack, paid)

    def reviews() -> list[dict[str, Any]]:
        return [m for m in queued(stack, "subscription-actions") if m["case_id"] == case_id]

    [review] = eventually(reviews, "the refund review on subscription-actions")
    rows = eventually(
        lambda: [
            r
            for r in state_reader.cases_text(database, None, "double_collected").splitlines()
            if case_id in r
        ],
        "the case listed as double_collected",
    )
    assert "DOUBLE COLLECTED" in rows[0]
    assert case_id in state_reader.cases_text(database, None, None)
    assert (review["version"], review["action"]) == (2, "refund_review")
    refund = review["double_collection"]
    assert (refund["payment_id"], refund["amount"], refund["currency"]) == (case_id, 4200, "USD")
    assert (refund["charge_id"], refund["charge_key"]) == (charge["charge"], charge["key"])
    assert refund["other_event_id"] == paid["event_id"]
    assert charge["charge"] in state_reader.cases_text(database, case_id, None)
    time.sleep(3)  # three more ticks and the redelivery: no second message, no second charge
    assert len(reviews()) == 1
    assert [line["key"] for line in read_jsonl(stack.ledger) if line["case_id"] == case_id] == [
        f"{case_id}:1"
    ]
    bodies = {stored.record.body for stored in deadletters.records(stack.blob_service(), stack.resources)}
    assert json.dumps(paid).encode() not in bodies
