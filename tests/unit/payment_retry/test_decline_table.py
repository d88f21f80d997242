"""The default policy's decline table from v2 on: every decline code under every issuer advice."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from functions.common.payments import Decline
from functions.payment_retry.declines import classify
from functions.payment_retry.policy import Policy, latest, load_policy

V2 = load_policy("default", 2)
# Written from the issue, not read from the TOML: a retry on the schedule unless the advice forbids it.
SOFT = [
    "approve_with_id",
    "card_velocity_exceeded",
    "insufficient_funds",
    "issuer_not_available",
    "processing_error",
    "reenter_transaction",
    "try_again_later",
]
# Wait for a new card, unless the issuer advises try_again_later.
HARD = [
    "authentication_required", "call_issuer", "card_declined", "card_not_supported", "currency_not_supported",
    "do_not_honor", "expired_card", "generic_decline", "incorrect_cvc", "incorrect_number", "incorrect_pin",
    "incorrect_zip", "invalid_account", "invalid_amount", "invalid_cvc", "invalid_expiry_month",
    "invalid_expiry_year", "invalid_number", "invalid_pin", "new_account_information_available",
    "no_action_taken", "not_permitted", "offline_pin_required", "online_or_offline_pin_required",
    "pin_try_exceeded", "service_not_allowed", "testmode_decline", "transaction_not_allowed",
    "withdrawal_count_limit_exceeded",
]  # fmt: skip
# Never charged again on this card, whatever the advice; the customer sees the real code.
NEVER = [
    "do_not_try_again",
    "duplicate_transaction",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "stop_payment_order",
]
# Never charged again on this card, whatever the advice; the customer sees generic_decline.
FRAUD = [
    "fraudulent",
    "lost_card",
    "merchant_blacklist",
    "pickup_card",
    "restricted_card",
    "security_violation",
    "stolen_card",
]
RATE_LIMITED = ["card_decline_rate_limit_exceeded"]  # Stripe: retry this card after 24 hours
UNLISTED = ["brand_new_code"]  # a code no class lists: no blind retry, whatever the advice
ADVICE = [None, "do_not_try_again", "try_again_later", "confirm_card_data", "some_future_advice"]
_STOPS = {"do_not_try_again", "confirm_card_data"}


def expected(code: str, advice: str | None) -> tuple[bool, str, timedelta]:
    """(retried, code shown to the customer, least wait before the retry, if any) the issue asks for."""
    if code in SOFT:
        return advice not in _STOPS, code, timedelta(0)
    if code in HARD:
        return advice == "try_again_later", code, timedelta(0)
    if code in RATE_LIMITED:
        retried = advice not in _STOPS
        return retried, code, timedelta(hours=24) if retried else timedelta(0)
    shown = code if code in NEVER else "generic_decline"
    return False, shown, timedelta(0)


CELLS = list(itertools.product(SOFT + HARD + NEVER + FRAUD + RATE_LIMITED + UNLISTED, ADVICE))


@pytest.mark.parametrize(("code", "advice"), CELLS)
def test_every_cell_of_the_decline_table(code: str, advice: str | None) -> None:
    """Each decline code under each advice (or none) retries, waits and shows what the issue states."""
    found = classify(Decline(code="card_declined", decline_code=code, advice_code=advice), V2)
    assert (found.retry, found.customer_code, found.retry_after) == expected(code, advice)
    assert found.reason_code == code
    assert found.known == (code not in UNLISTED)


@pytest.mark.parametrize(("code", "advice"), [(c, a) for c, a in CELLS if c in NEVER + FRAUD])
def test_codes_that_must_never_be_retried_ignore_the_advice(code: str, advice: str | None) -> None:
    """A revoked authorisation, a stop-payment order, a duplicate or fraud is never retried on advice."""
    assert not classify(Decline(code="card_declined", decline_code=code, advice_code=advice), V2).retry


def test_the_test_covers_every_code_the_table_lists() -> None:
    """The table lists exactly the codes this test states a row for: a new code needs its row here."""
    listed = {code for group in V2.declines.classes for code in group.codes}  # type: ignore[union-attr]
    assert listed == set(SOFT + HARD + NEVER + FRAUD + RATE_LIMITED)


def test_a_top_level_code_alone_is_classified_like_a_decline_code() -> None:
    """card_decline_rate_limit_exceeded arrives as the top-level error code: retried after 24 hours."""
    found = classify(Decline(code="card_decline_rate_limit_exceeded"), V2)
    assert (found.retry, found.retry_after) == (True, timedelta(hours=24))


def test_new_cases_use_v2_s_table_and_older_versions_still_load() -> None:
    """The newest default policy (v3) keeps v2's table; v1 and v2 stay shipped for their open cases."""
    newest = latest("default")
    assert (newest.version, newest.declines) == (3, V2.declines)
    assert [load_policy("default", version).version for version in (1, 2)] == [1, 2]


def _v2_data(**changes: Any) -> dict[str, Any]:
    """The v2 policy as plain data with its decline table's fields replaced."""
    data = V2.model_dump()
    data["declines"] |= changes
    return data


def test_every_class_states_every_advice_column() -> None:
    """A class row missing an advice column is rejected: the table must be total."""
    classes = _v2_data()["declines"]["classes"]
    del classes[0]["advice"]["try_again_later"]
    with pytest.raises(ValueError, match="try_again_later"):
        Policy.model_validate(_v2_data(classes=classes))


def test_a_code_belongs_to_one_class_of_the_table() -> None:
    """A code listed in two classes of a v2 table is rejected, naming the code."""
    classes = _v2_data()["declines"]["classes"]
    classes[0]["codes"] = [*classes[0]["codes"], "stolen_card"]
    with pytest.raises(ValueError, match=r"more than one class: \['stolen_card'\]"):
        Policy.model_validate(_v2_data(classes=classes))


def test_a_cell_is_retry_or_wait() -> None:
    """A cell naming anything but retry or wait is rejected."""
    classes = _v2_data()["declines"]["classes"]
    classes[0]["advice"]["none"] = "maybe"
    with pytest.raises(ValueError, match="validation error"):
        Policy.model_validate(_v2_data(classes=classes))


def test_the_v2_policy_is_a_hashable_value() -> None:
    """v2 is frozen all the way down: it hashes and equals its own re-validation from plain data."""
    again = Policy.model_validate(V2.model_dump())
    assert (again, hash(again)) == (V2, hash(V2))
