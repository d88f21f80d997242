"""The one translation from the processor's HTTP answer to what happened to the charge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.payment_retry.answers import Declined, InDoubt, Later, Paid, Refused, read_answer


def _error(kind: str, code: str | None = None, **fields: str) -> bytes:
    """A Stripe-shaped error body."""
    error: dict[str, Any] = {"type": kind, "message": "words", **fields}
    if code is not None:
        error["code"] = code
    return json.dumps({"error": error}).encode()


CHARGE = json.dumps({"id": "ch_1", "object": "charge", "status": "succeeded", "amount": 100}).encode()


@pytest.mark.parametrize("status", [200, 201])
def test_a_succeeded_charge_is_paid(status: int) -> None:
    """A 2xx charge object with status succeeded is paid, with its charge id."""
    assert read_answer(status, CHARGE) == Paid(charge_id="ch_1")


def test_a_card_error_is_a_decline() -> None:
    """A 402 card_error is a decline, with its code, decline_code and advice_code."""
    body = _error(
        "card_error", "card_declined", decline_code="stop_payment_order", advice_code="try_again_later"
    )
    answer = read_answer(402, body)
    assert isinstance(answer, Declined)
    assert (answer.decline.code, answer.decline.decline_code, answer.decline.advice_code) == (
        "card_declined", "stop_payment_order", "try_again_later",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, _error("invalid_request_error", "amount_too_small", param="amount")),
        (400, _error("invalid_request_error", "parameter_invalid_integer", param="amount")),
        (404, _error("invalid_request_error", "resource_missing", param="customer")),
        (409, _error("idempotency_error", "idempotency_key_reused")),
        (409, _error("idempotency_error")),
        (400, _error("card_error", "card_declined", decline_code="insufficient_funds")),
        (401, _error("invalid_request_error")),
        (403, b"<html>forbidden</html>"),
    ],
)
def test_a_refusal_of_our_own_request_is_permanent_not_a_decline(status: int, body: bytes) -> None:
    """Other 4xx (bad parameters, missing resources, a reused key) are our fault: refused, never declined."""
    answer = read_answer(status, body)
    assert isinstance(answer, Refused)
    assert str(status) in answer.reason


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
def test_a_busy_or_failing_processor_is_retried_later(status: int, body: bytes) -> None:
    """A key in use, a lock timeout, rate limits and 5xx are retried later with the same key."""
    assert isinstance(read_answer(status, body), Later)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, b"not json"),
        (200, b"[]"),
        (200, json.dumps({"object": "charge", "status": "succeeded"}).encode()),
        (200, json.dumps({"id": "ch_1", "status": "pending"}).encode()),
        (200, json.dumps({"id": "", "status": "succeeded"}).encode()),
        (402, b""),
        (402, b'{"error": '),
        (402, _error("api_error", "card_declined")),
        (402, _error("card_error")),
        (302, b""),
        (0, b""),
    ],
)
def test_an_answer_we_cannot_read_is_in_doubt(status: int, body: bytes) -> None:
    """Unparseable bodies, 2xx of an unexpected shape and odd statuses are in doubt, never declines."""
    assert isinstance(read_answer(status, body), InDoubt)
