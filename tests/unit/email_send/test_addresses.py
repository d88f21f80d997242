"""Recipient addresses: the RFC 5321/5322 rules for a plain mailbox, each accepted and refused at the edge."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from pydantic import AfterValidator, BaseModel, ValidationError

from bindings.errors import PermanentError
from functions.common.addresses import check_address
from functions.common.mail import OutgoingMail, smtp_request
from functions.common.messages import EMAIL_ADDRESS, EmailRequested, ReceiptRequested, ReceiptRequestedV2
from functions.payment_retry.model import PaymentFailed
from functions.receipt_render.invoice import Order

LABEL_63 = "a" * 63
DOMAIN_257 = ".".join([LABEL_63, LABEL_63, LABEL_63, "b" * 61, "com"])
DOMAIN_252 = ".".join([LABEL_63, LABEL_63, LABEL_63, "b" * 56, "com"])

ACCEPTED = [
    pytest.param("ana@example.com", id="plain"),
    pytest.param("a.b.c@example.com", id="dots-between-atoms"),
    pytest.param("o'brien+tag_1=x@mail.example.co.uk", id="atext-specials"),
    pytest.param("a@ex-am-ple.com", id="inner-hyphens"),
    pytest.param("a@1example.com", id="label-starts-with-digit"),
    pytest.param("a" * 64 + "@example.com", id="local-part-of-64"),
    pytest.param("a@" + LABEL_63 + ".com", id="label-of-63"),
    pytest.param("a@" + DOMAIN_252, id="address-of-254"),
]

REFUSED = [
    pytest.param("a..b@example.com", "consecutive dots", id="consecutive-dots"),
    pytest.param(".ab@example.com", "starts or ends with a dot", id="leading-dot"),
    pytest.param("ab.@example.com", "starts or ends with a dot", id="trailing-dot"),
    pytest.param("a" * 65 + "@example.com", "local part", id="local-part-of-65"),
    pytest.param("a@-example.com", "starts or ends with '-'", id="label-starts-with-hyphen"),
    pytest.param("a@example-.com", "starts or ends with '-'", id="label-ends-with-hyphen"),
    pytest.param("a@mail.-x.com", "starts or ends with '-'", id="inner-label-starts-with-hyphen"),
    pytest.param("a@" + "a" * 64 + ".com", "over 63", id="label-of-64"),
    pytest.param("a@" + DOMAIN_257, "domain", id="domain-over-255"),
    pytest.param("a" * 10 + "@" + DOMAIN_252, "254", id="address-of-263"),
    pytest.param("a@example..com", "empty label", id="empty-label"),
    pytest.param("a@.example.com", "empty label", id="leading-dot-in-domain"),
    pytest.param("a@example.com.", "empty label", id="trailing-dot-in-domain"),
    pytest.param("a@localhost", "at least two labels", id="dotless-domain"),
    pytest.param("a@exa_mple.com", "letters, digits", id="underscore-in-domain"),
    pytest.param("a;victim@example.com", "not allowed in a local part", id="semicolon"),
    pytest.param("a b@example.com", "not allowed in a local part", id="space"),
    pytest.param('"a b"@example.com', "not allowed in a local part", id="quoted-local-part"),
    pytest.param("ä@example.com", "not allowed in a local part", id="non-ascii-local"),
    pytest.param("a@bücher.example", "letters, digits", id="non-ascii-domain"),
    pytest.param("a@[127.0.0.1]", "letters, digits", id="address-literal"),
    pytest.param("example.com", "one '@'", id="no-at"),
    pytest.param("a@b@example.com", "one '@'", id="two-ats"),
    pytest.param("@example.com", "empty local part", id="empty-local-part"),
    pytest.param("a\r\nBcc: x@example.com", "not allowed in a local part", id="header-injection"),
]


@pytest.mark.parametrize("address", ACCEPTED)
def test_an_address_within_the_rfc_rules_is_accepted(address: str) -> None:
    """Lengths are exact; the checker, the shared pattern and every request model accept it unchanged."""
    assert check_address(address) == address
    assert re.fullmatch(EMAIL_ADDRESS, address)
    assert EmailRequested(request_id="r", template="receipt", to=address).to == address
    smtp_request(OutgoingMail(sender="billing@example.com", to=(address,), subject="s", html="h"))


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_an_address_the_rfcs_reject_is_refused_with_the_reason(address: str, reason: str) -> None:
    """The checker names the broken rule; the request models and the mail ports refuse it too."""
    with pytest.raises(ValueError, match=re.escape(reason)):
        check_address(address)
    with pytest.raises(ValidationError, match=re.escape(reason)):
        EmailRequested(request_id="r", template="receipt", to=address)
    with pytest.raises(ValidationError, match=re.escape(reason)):
        ReceiptRequestedV2(request_id="r", receipt_id="r", details_key="k", customer_id="c", email=address)
    with pytest.raises(PermanentError, match="not a plain email address"):
        smtp_request(OutgoingMail(sender="billing@example.com", to=(address,), subject="s", html="h"))


@pytest.mark.parametrize(
    "address", [".ab@example.com", "ab.@example.com", "a@-example.com", "a@example-.com"]
)
def test_the_shared_pattern_refuses_what_a_pattern_can_express(address: str) -> None:
    """Models that only use `EMAIL_ADDRESS` as a pattern still refuse edge dots and edge hyphens."""
    assert re.fullmatch(EMAIL_ADDRESS, address) is None


def test_a_receipt_request_refuses_a_bad_address() -> None:
    """ReceiptRequested (version 1) checks its address by the same rules."""
    with pytest.raises(ValidationError, match="consecutive dots"):
        ReceiptRequested(
            request_id="r", payment_id="p", customer_id="c", email="a..b@example.com", amount=1,
            currency="EUR", paid_at=datetime(2026, 3, 2, 12, tzinfo=UTC),
        )  # fmt: skip


def test_every_inbound_model_with_an_address_checks_it_by_the_same_rules() -> None:
    """Failed payments and order documents carry the checked address type, as the request models do."""
    models: dict[type[BaseModel], str] = {
        PaymentFailed: "email", Order: "email", ReceiptRequested: "email", EmailRequested: "to",
    }  # fmt: skip
    for model, field in models.items():
        assert AfterValidator(check_address) in model.model_fields[field].metadata, model.__name__
