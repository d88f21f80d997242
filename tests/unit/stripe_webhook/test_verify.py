"""Stripe-Signature verification: genuine deliveries pass; forged, stale, unsigned, thin ones are refused."""

from __future__ import annotations

import logging
import time

import pytest

from functions.common.stripe import STRIPE_VERSION
from functions.stripe_webhook.verify import RefusedError, Verifier
from tests.unit.stripe_webhook.stripe_events import (
    OLD_SECRET,
    SECRET,
    event,
    invoice,
    raw,
    signature,
)

BODY = raw(event("invoice.payment_failed", invoice()))


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    """A verifier for the endpoint's current secret, with Stripe's default tolerance."""
    return Verifier(SECRET)


def refusal(verifier: Verifier, body: bytes, header: str | None) -> str:
    """The reason `verifier` refuses the delivery; fails the test when it is accepted."""
    with pytest.raises(RefusedError) as refused:
        verifier.verify(body, header)
    assert refused.value.status == 400
    return str(refused.value)


def test_a_genuine_delivery_gives_the_event_as_plain_json(verifier: Verifier) -> None:
    """A body signed with the secret a moment ago is the event, as plain dicts and lists."""
    found = verifier.verify(BODY, signature(BODY, SECRET))
    assert found == event("invoice.payment_failed", invoice())
    assert type(found["data"]["object"]) is dict


def test_during_a_secret_roll_either_v1_value_verifies(verifier: Verifier) -> None:
    """Stripe signs with the old and the new secret while a secret rolls: a match of either one passes."""
    header = signature(BODY, OLD_SECRET, SECRET)
    assert header.count("v1=") == 2
    assert verifier.verify(BODY, header)["id"] == event("x", {})["id"]
    assert Verifier(OLD_SECRET).verify(BODY, header)["type"] == "invoice.payment_failed"


def test_a_stale_timestamp_is_refused(verifier: Verifier) -> None:
    """A delivery signed more than the tolerance ago is a replay: refused though the signature matches."""
    stale = signature(BODY, SECRET, at=int(time.time()) - 301)
    assert "tolerance" in refusal(verifier, BODY, stale)
    assert Verifier(SECRET, tolerance=600).verify(BODY, stale)["object"] == "event"


@pytest.mark.parametrize(
    ("header", "why"),
    [
        pytest.param(signature(BODY, "whsec_someone_else"), "matching", id="another-secret"),
        pytest.param(signature(BODY + b" ", SECRET), "matching", id="body-changed-after-signing"),
        pytest.param(signature(BODY, SECRET).replace("v1=", "v0="), "expected scheme", id="only-v0"),
        pytest.param("v1=" + "0" * 64, "timestamp", id="no-timestamp"),
        pytest.param("t=soon,v1=" + "0" * 64, "timestamp", id="timestamp-not-a-number"),
    ],
)
def test_a_forged_or_malformed_signature_is_refused(verifier: Verifier, header: str, why: str) -> None:
    """Another secret, a body changed after signing, no v1 value or no timestamp: refused, saying which."""
    assert why in refusal(verifier, BODY, header)


@pytest.mark.parametrize("header", [None, ""])
def test_a_delivery_without_a_signature_is_refused(verifier: Verifier, header: str | None) -> None:
    """No Stripe-Signature header at all: refused."""
    assert "No Stripe-Signature" in refusal(verifier, BODY, header)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(b"\xff\xfe{}", "not UTF-8", id="not-utf8"),
        pytest.param(b"{'id': 'evt_1'}", "not JSON", id="not-json"),
        pytest.param(b"[1, 2]", "not a Stripe event object", id="json-array"),
        pytest.param(raw({"id": "in_1", "object": "invoice"}), "not 'event'", id="an-invoice-not-an-event"),
        pytest.param(
            raw(event("invoice.paid", invoice()) | {"created": None}), "no created", id="no-created"
        ),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(verifier: Verifier, body: bytes, why: str) -> None:
    """Signed bytes that are not UTF-8 JSON of a v1 event are refused, not mapped."""
    assert why in refusal(verifier, body, signature(body, SECRET))


def test_a_thin_event_is_refused_with_the_reason(verifier: Verifier) -> None:
    """A v2 thin event notification is refused: Bindery takes v1 snapshot events."""
    thin = {
        "id": "evt_test_65R9Ijk8ZrWmpQ6bD2G16R9Ijk8Zr",
        "object": "v2.core.event",
        "type": "v1.invoice.payment_failed",
        "created": "2026-08-29T10:00:00.000Z",
        "livemode": False,
        "context": None,
        "related_object": {
            "id": "in_1QZrA7K2vT4xLpNcF3u9Jd0E",
            "type": "invoice",
            "url": "/v1/invoices/in_1",
        },
    }
    body = raw(thin)
    reason = refusal(verifier, body, signature(body, SECRET))
    assert "thin event" in reason
    assert "snapshot" in reason


def test_another_api_version_is_accepted_with_a_warning(
    verifier: Verifier, caplog: pytest.LogCaptureFixture
) -> None:
    """An event rendered at another API version is taken (its body never changes) and logged as a warning."""
    body = raw(event("invoice.payment_failed", invoice(), api_version="2025-03-31.basil"))
    with caplog.at_level(logging.WARNING, logger="functions.stripe_webhook.verify"):
        assert verifier.verify(body, signature(body, SECRET))["api_version"] == "2025-03-31.basil"
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert STRIPE_VERSION in caplog.records[0].getMessage()


def test_the_current_api_version_logs_nothing(verifier: Verifier, caplog: pytest.LogCaptureFixture) -> None:
    """The control case: an event at STRIPE_VERSION passes without a warning."""
    with caplog.at_level(logging.WARNING, logger="functions.stripe_webhook.verify"):
        verifier.verify(BODY, signature(BODY, SECRET))
    assert caplog.records == []


@pytest.mark.parametrize(("secret", "tolerance"), [("sk_test_123", 300), ("", 300), (SECRET, 0)])
def test_a_verifier_needs_a_webhook_secret_and_a_positive_tolerance(secret: str, tolerance: int) -> None:
    """An API key, an empty secret or a zero tolerance (the check turned off) is refused at start."""
    with pytest.raises(ValueError, match=r"whsec_|tolerance"):
        Verifier(secret, tolerance)
