"""The one translation from Stripe's HTTP answers to the processor-neutral outcomes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.common.payments import Declined, InDoubt, Later, NeedsCustomer, Paid, Refused
from functions.common.stripe import StripeAnswer
from functions.common.stripe_answers import mask_keys, read_answer


def _error(kind: str, code: str | None = None, **fields: object) -> bytes:
    """A Stripe-shaped error body."""
    error: dict[str, Any] = {"type": kind, "message": "words", **fields}
    if code is not None:
        error["code"] = code
    return json.dumps({"error": error}).encode()


def _answer(status: int, body: bytes | dict[str, Any]) -> StripeAnswer:
    return StripeAnswer(status, body if isinstance(body, bytes) else json.dumps(body).encode())


INTENT = {
    "id": "pi_1",
    "object": "payment_intent",
    "status": "succeeded",
    "amount": 100,
    "latest_charge": "ch_1",
}
INVOICE = {"id": "in_1", "object": "invoice", "status": "paid", "amount_paid": 100}


@pytest.mark.parametrize("status", [200, 201])
def test_a_succeeded_payment_intent_is_paid_by_its_id(status: int) -> None:
    """A 2xx PaymentIntent with status succeeded is paid; the intent's id is the payment's reference."""
    assert read_answer(_answer(status, INTENT), "payment_intent") == Paid(charge_id="pi_1")


def test_a_paid_invoice_is_paid_by_its_id() -> None:
    """A 2xx Invoice with status paid is paid, by the invoice id."""
    assert read_answer(_answer(200, INVOICE), "invoice") == Paid(charge_id="in_1")


@pytest.mark.parametrize(
    ("body", "mode"),
    [
        (INTENT, "invoice"),
        (INVOICE, "payment_intent"),
        ({**INTENT, "status": "processing"}, "payment_intent"),
        ({**INTENT, "status": "requires_action"}, "payment_intent"),
        ({**INVOICE, "status": "open"}, "invoice"),
        ({**INTENT, "id": ""}, "payment_intent"),
        ({"object": "charge", "id": "ch_1", "status": "succeeded"}, "payment_intent"),
    ],
)
def test_a_2xx_that_does_not_say_the_money_moved_is_in_doubt(body: dict[str, Any], mode: Any) -> None:
    """Processing, an object of the other mode, an unknown object, no id: in doubt, never paid or declined."""
    answer = read_answer(_answer(200, body), mode)
    assert isinstance(answer, InDoubt)
    assert "200" in answer.reason


def test_a_card_error_is_a_decline_with_its_codes() -> None:
    """A 402 card_error is a decline, with its code, decline_code and advice_code."""
    intent = {**INTENT, "status": "requires_payment_method"}
    body = _error("card_error", "card_declined", decline_code="stop_payment_order",
                  advice_code="try_again_later", payment_intent=intent, charge="ch_1")  # fmt: skip
    answer = read_answer(_answer(402, body), "payment_intent")
    assert isinstance(answer, Declined)
    assert (answer.decline.code, answer.decline.decline_code, answer.decline.advice_code) == (
        "card_declined", "stop_payment_order", "try_again_later",
    )  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "authentication_required", "decline_code": "authentication_required"},
        {"code": "card_declined", "decline_code": "authentication_required"},
        {"code": "authentication_required"},
    ],
)
def test_authentication_required_needs_the_customer(fields: dict[str, str]) -> None:
    """The issuer wants the cardholder: needs the customer, with the decline, never a plain decline."""
    answer = read_answer(_answer(402, _error("card_error", **fields)), "payment_intent")
    assert isinstance(answer, NeedsCustomer)
    assert answer.decline.code == fields["code"]
    assert "cardholder" in answer.reason


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, _error("invalid_request_error", "amount_too_small", param="amount")),
        (400, _error("invalid_request_error", "parameter_unknown", param="amont")),
        (404, _error("invalid_request_error", "resource_missing", param="invoice")),
        (400, _error("invalid_request_error", message="Invoice is already paid")),
        (400, _error("card_error", "card_declined", decline_code="insufficient_funds")),
        (401, _error("invalid_request_error")),
        (409, _error("invalid_request_error", "resource_already_exists")),
        (403, b"<html>forbidden</html>"),
    ],
)
def test_a_refusal_of_our_own_request_is_refused_not_declined(status: int, body: bytes) -> None:
    """Other 4xx (bad parameters, missing invoices, bad keys) are our fault: refused, never declined."""
    answer = read_answer(_answer(status, body), "payment_intent")
    assert isinstance(answer, Refused)
    assert str(status) in answer.reason


def test_a_reused_idempotency_key_is_refused_as_our_bug() -> None:
    """Stripe's 400 idempotency_error (the key with other parameters) is refused and called a bug."""
    answer = read_answer(_answer(400, _error("idempotency_error")), "payment_intent")
    assert isinstance(answer, Refused)
    assert "400 idempotency_error" in answer.reason
    assert "a bug in Bindery" in answer.reason


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (409, _error("invalid_request_error", "idempotency_key_in_use")),
        (409, _error("invalid_request_error", "lock_timeout")),
        (429, _error("invalid_request_error", "rate_limit")),
        (429, b""),
        (500, _error("api_error")),
        (503, b"upstream down"),
    ],
)
def test_a_busy_or_failing_stripe_is_asked_again_later(status: int, body: bytes) -> None:
    """A key in use, a lock timeout, rate limits and 5xx are retried later with the same key."""
    assert isinstance(read_answer(_answer(status, body), "payment_intent"), Later)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"not json"),
        (200, b"[]"),
        (402, b""),
        (402, b'{"error": '),
        (402, _error("api_error", "card_declined")),
        (402, _error("card_error")),
        (302, b""),
        (101, b""),
    ],
)
def test_an_answer_we_cannot_read_is_in_doubt(status: int, body: bytes) -> None:
    """Unparseable bodies, a 402 that is no readable card error and odd statuses are in doubt."""
    assert isinstance(read_answer(_answer(status, body), "payment_intent"), InDoubt)


@pytest.mark.parametrize(
    "key",
    ["sk_test_51AbCdEfGhIjKlMnOpQrStUv", "sk_live_51AbCdEfGhIjKlMnOpQrStUv", "rk_live_51AbCdEfGhIjKlMnOpQ"],
)
def test_no_api_key_survives_in_a_reason(key: str) -> None:
    """stripe-mock echoes the Authorization header in its 401: the reason keeps only the key's last four."""
    message = f"Invalid API Key provided: {key}; Authorization: Bearer {key}"
    refused = read_answer(_answer(401, _error("invalid_request_error", message=message)), "payment_intent")
    doubt = read_answer(_answer(302, f"location: {key}".encode()), "payment_intent")
    for answer in (refused, doubt):
        assert isinstance(answer, Refused | InDoubt)
        assert key not in answer.reason
        assert key[:8] + "…" + key[-4:] in answer.reason


def test_a_short_key_is_masked_whole() -> None:
    """A key too short to show four characters of shows none."""
    assert mask_keys("Bearer sk_test_abc.") == "Bearer sk_test_…."
