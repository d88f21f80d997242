"""Webhook verification: genuine requests pass; forged, altered, stale and malformed ones are refused."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from functions.email_webhook.verify import RefusedError, Verifier
from tooling import webhook_keys

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))
# SendGrid's bodies hold CRLF between events: the bytes are signed exactly as sent.
BODY = (
    b'[{"email":"a@example.com","timestamp":1772452800,"event":"delivered","sg_event_id":"e1"},\r\n'
    b'{"email":"a@example.com","timestamp":1772452801,"event":"open","sg_event_id":"e2"}]\r\n'
)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> ec.EllipticCurvePrivateKey:
    """A fresh key pair for this module."""
    return webhook_keys.load_or_create(tmp_path_factory.mktemp("keys") / "key.pem")


@pytest.fixture(scope="module")
def verifier(key: ec.EllipticCurvePrivateKey) -> Verifier:
    """A verifier with the default five-minute window."""
    return Verifier(webhook_keys.public_key(key))


def test_a_genuine_request_passes_with_a_stable_batch_id(
    verifier: Verifier, key: ec.EllipticCurvePrivateKey
) -> None:
    """Signature over timestamp + raw CRLF bytes; the same request gives the same batch id."""
    signature = webhook_keys.sign(key, STAMP, BODY)
    first = verifier.verify(BODY, signature, STAMP, NOW)
    assert first == verifier.verify(BODY, signature, STAMP, NOW + timedelta(minutes=4))
    assert len(first) == 32


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda body, sig, stamp: (body.replace(b"\r\n", b"\n"), sig, stamp), 403),  # line endings normalised
        (lambda body, sig, stamp: (body.replace(b"open", b"click"), sig, stamp), 403),  # altered body
        (lambda body, sig, stamp: (body, sig, str(int(stamp) + 1)), 403),  # timestamp changed
        (lambda body, sig, stamp: (body, "A" + sig[1:], stamp), 403),  # forged signature
        (lambda body, _sig, stamp: (body, "not base64!", stamp), 400),  # malformed signature: no crash
        (lambda body, _sig, stamp: (body, None, stamp), 401),
        (lambda body, sig, _stamp: (body, sig, None), 401),
        (lambda body, sig, _stamp: (body, sig, "yesterday"), 400),
        (lambda body, sig, stamp: (b"\xff\xfe" + body, sig, stamp), 400),  # not UTF-8
    ],
)
def test_tampered_requests_are_refused(
    verifier: Verifier, key: ec.EllipticCurvePrivateKey, mutate: object, status: int
) -> None:
    """Each tampering gets its HTTP status and never an exception other than RefusedError."""
    body, signature, stamp = mutate(BODY, webhook_keys.sign(key, STAMP, BODY), STAMP)  # type: ignore[operator]
    with pytest.raises(RefusedError) as refused:
        verifier.verify(body, signature, stamp, NOW)
    assert refused.value.status == status


def test_a_stale_or_future_timestamp_is_refused_even_with_a_valid_signature(
    verifier: Verifier, key: ec.EllipticCurvePrivateKey
) -> None:
    """A captured request replayed after the window, or dated ahead of it, is refused."""
    signature = webhook_keys.sign(key, STAMP, BODY)
    for now in (NOW + timedelta(minutes=5, seconds=1), NOW - timedelta(minutes=6)):
        with pytest.raises(RefusedError, match="replay window") as refused:
            verifier.verify(BODY, signature, STAMP, now)
        assert refused.value.status == 403


def test_another_key_pair_is_refused(verifier: Verifier, tmp_path: Path) -> None:
    """A request signed with someone else's key does not verify."""
    other = webhook_keys.load_or_create(tmp_path / "other.pem")
    with pytest.raises(RefusedError, match="does not match"):
        verifier.verify(BODY, webhook_keys.sign(other, STAMP, BODY), STAMP, NOW)


def test_a_bad_public_key_fails_at_startup() -> None:
    """Configuration errors surface when the verifier is built, not on the first request."""
    with pytest.raises(ValueError, match="base64 DER"):
        Verifier("bm90IGEga2V5")


def test_the_body_is_valid_json_for_the_consumer() -> None:
    """The test body itself is a JSON array, as SendGrid sends."""
    assert [event["event"] for event in json.loads(BODY)] == ["delivered", "open"]


def _der(key: PublicKeyTypes) -> str:
    """`key` as SendGrid shows a verification key: base64 DER SubjectPublicKeyInfo."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    "public",
    [
        pytest.param(lambda: rsa.generate_private_key(65537, 2048).public_key(), id="rsa"),
        pytest.param(lambda: ed25519.Ed25519PrivateKey.generate().public_key(), id="ed25519"),
        pytest.param(lambda: dsa.generate_private_key(2048).public_key(), id="dsa"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP384R1()).public_key(), id="ec-p384"),
        pytest.param(lambda: ec.generate_private_key(ec.SECP256K1()).public_key(), id="ec-secp256k1"),
    ],
)
def test_a_public_key_other_than_ec_p256_fails_at_startup(public: Callable[[], PublicKeyTypes]) -> None:
    """RSA, Ed25519, DSA and other curves are refused when the verifier is built, naming SendGrid's kind."""
    with pytest.raises(ValueError, match=r"ECDSA P-256"):
        Verifier(_der(public()))


def test_the_webhook_refuses_to_start_with_a_non_ec_key() -> None:
    """The app exits at start naming the variable, instead of serving and failing every POST."""
    key = _der(ed25519.Ed25519PrivateKey.generate().public_key())
    env = {**os.environ, "SENDGRID_WEBHOOK_PUBLIC_KEY": key, "APP_PORT": "0", "WEBHOOK_HOST": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-m", "functions.email_webhook.app"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "SENDGRID_WEBHOOK_PUBLIC_KEY" in done.stderr
    assert "ECDSA P-256" in done.stderr
