"""Decline classification: soft codes retry, hard and fraud codes wait for a new card."""

from __future__ import annotations

import pytest

from functions.common.payments import Decline
from functions.payment_retry.declines import DeclineClass, classify
from functions.payment_retry.policy import load_policy

POLICY = load_policy("default", 1)
FRAUD = [
    "fraudulent",
    "lost_card",
    "stolen_card",
    "merchant_blacklist",
    "pickup_card",
    "restricted_card",
    "security_violation",
]
SOFT = [
    "insufficient_funds",
    "processing_error",
    "try_again_later",
    "approve_with_id",
    "issuer_not_available",
    "reenter_transaction",
    "card_velocity_exceeded",
]
HARD = [
    "expired_card",
    "incorrect_number",
    "incorrect_cvc",
    "incorrect_zip",
    "invalid_cvc",
    "do_not_honor",
    "generic_decline",
    "call_issuer",
    "card_not_supported",
    "currency_not_supported",
    "invalid_account",
    "new_account_information_available",
    "authentication_required",
    "card_declined",
]


def _classify(code: str, decline_code: str | None = None, advice_code: str | None = None) -> DeclineClass:
    """Classify one decline with the default policy."""
    return classify(Decline(code=code, decline_code=decline_code, advice_code=advice_code), POLICY)


@pytest.mark.parametrize("code", SOFT)
def test_soft_codes_are_retried(code: str) -> None:
    """Transient declines (and insufficient funds, despite Stripe's wording) retry on the schedule."""
    assert _classify("card_declined", code) == DeclineClass(
        kind="soft", retry=True, customer_code=code, reason_code=code, known=True
    )


@pytest.mark.parametrize("code", HARD)
def test_hard_codes_wait_for_a_new_payment_method(code: str) -> None:
    """Hard declines are not retried and the customer sees the real code."""
    result = _classify("card_declined", code)
    assert (result.kind, result.retry, result.customer_code, result.known) == ("hard", False, code, True)


def test_decline_code_wins_over_code() -> None:
    """The decline_code decides the class; the generic top-level code is only a fallback."""
    assert _classify("card_declined", "insufficient_funds").reason_code == "insufficient_funds"
    assert _classify("processing_error", "expired_card").kind == "hard"


@pytest.mark.parametrize("decline_code", [None, ""])
@pytest.mark.parametrize(("code", "kind"), [("expired_card", "hard"), ("processing_error", "soft")])
def test_code_is_used_when_decline_code_is_missing_or_empty(
    code: str, kind: str, decline_code: str | None
) -> None:
    """Errors such as expired_card or processing_error arrive as the top-level code alone."""
    result = _classify(code, decline_code)
    assert (result.kind, result.reason_code) == (kind, code)


def test_advice_do_not_try_again_stops_retries() -> None:
    """do_not_try_again turns a soft code hard: no automatic retry of this card."""
    result = _classify("card_declined", "insufficient_funds", "do_not_try_again")
    assert (result.kind, result.retry, result.advice_code) == ("hard", False, "do_not_try_again")
    assert result.customer_code == "insufficient_funds"


def test_advice_try_again_later_allows_retries() -> None:
    """try_again_later turns a hard code soft: the issuer expects a later retry to pass."""
    result = _classify("card_declined", "do_not_honor", "try_again_later")
    assert (result.kind, result.retry, result.advice_code) == ("soft", True, "try_again_later")


def test_advice_confirm_card_data_needs_the_customer() -> None:
    """confirm_card_data makes even a soft code hard: wait for the customer to update the card."""
    result = _classify("card_declined", "processing_error", "confirm_card_data")
    assert (result.kind, result.retry, result.advice_code) == ("hard", False, "confirm_card_data")


def test_unknown_advice_code_is_ignored() -> None:
    """An advice code the policy does not know leaves the code's class alone."""
    result = _classify("card_declined", "insufficient_funds", "some_future_advice")
    assert (result.kind, result.advice_code) == ("soft", None)


@pytest.mark.parametrize("code", FRAUD)
@pytest.mark.parametrize("advice_code", [None, "try_again_later"])
def test_fraud_is_never_retried_and_shown_as_generic_decline(code: str, advice_code: str | None) -> None:
    """Fraud codes never retry, not even on try_again_later advice, and are hidden from the customer."""
    assert _classify("card_declined", code, advice_code) == DeclineClass(
        kind="fraud", retry=False, customer_code="generic_decline", reason_code=code, known=True
    )


def test_unknown_code_is_hard_and_flagged() -> None:
    """A code the table does not list is hard (no blind retry), marked unknown and shown as generic."""
    assert _classify("card_declined", "brand_new_code") == DeclineClass(
        kind="hard", retry=False, customer_code="generic_decline", reason_code="brand_new_code", known=False
    )


def test_unknown_code_follows_try_again_later_advice() -> None:
    """The issuer's try_again_later advice makes even an unknown code retryable."""
    result = _classify("mystery", advice_code="try_again_later")
    assert (result.kind, result.retry, result.known, result.customer_code) == (
        "soft",
        True,
        False,
        "generic_decline",
    )


def test_decline_reads_the_processor_error_object() -> None:
    """A whole Stripe error object validates: its other fields are ignored, a missing code is not."""
    error = {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "stolen_card",
        "message": "Your card was declined.",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
    }
    assert classify(Decline.model_validate(error), POLICY).customer_code == "generic_decline"
    with pytest.raises(ValueError, match="code"):
        Decline.model_validate({"decline_code": "insufficient_funds"})
