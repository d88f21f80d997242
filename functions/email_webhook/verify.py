"""Verify a SendGrid signed event-webhook request: ECDSA over `timestamp + raw body`, and freshness.

SendGrid signs the timestamp header's text followed by the body's bytes exactly as sent (its
bodies hold CRLF between events), so nothing may touch the bytes before this check. The public
key is base64 DER without PEM armour, and must be an EC P-256 key (SendGrid signs with ECDSA P-256):
any other key is refused when the verifier is built, since the helper would load it and then fail
on every request. The signature is base64 DER. The helper checks no freshness:
a request whose timestamp is further than `window` from now is refused here, so a captured request
cannot be replayed later (one replayed within the window is caught by the consumer's dedupe).
A request that is not a fresh, genuine SendGrid delivery is refused with `RefusedError`
(`functions/common/framing.py`, the webhooks' one refusal type), carrying the HTTP status to answer.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook

from functions.common.framing import RefusedError

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "RefusedError", "Verifier"]


@dataclass(frozen=True)
class Verifier:
    """Checks requests against one public key and a replay window."""

    public_key: str
    window: timedelta = timedelta(minutes=5)
    _helper: EventWebhook = field(init=False, repr=False)
    _key: ec.EllipticCurvePublicKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        helper = EventWebhook()
        try:
            key = helper.convert_public_key_to_ecdsa(self.public_key)
        except ValueError as error:
            raise ValueError(f"the webhook public key is not base64 DER of an EC key: {error}") from error
        object.__setattr__(self, "_helper", helper)
        object.__setattr__(self, "_key", _p256(key))

    def verify(self, body: bytes, signature: str | None, timestamp: str | None, now: datetime) -> str:
        """Return the batch id (a hash of the signature) or raise `RefusedError`."""
        if not signature or not timestamp:
            raise RefusedError(401, f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
        try:
            sent_at = datetime.fromtimestamp(int(timestamp), UTC)
            text = body.decode("utf-8")
        except (ValueError, OverflowError, OSError) as error:
            raise RefusedError(400, f"malformed timestamp or body: {error}") from error
        if abs(now - sent_at) > self.window:
            raise RefusedError(403, f"timestamp {timestamp} is outside the {self.window} replay window")
        try:
            genuine = self._helper.verify_signature(text, signature, timestamp, public_key=self._key)
        except (binascii.Error, ValueError) as error:
            raise RefusedError(400, f"malformed signature: {error}") from error
        if not genuine:
            raise RefusedError(403, "signature does not match the body and timestamp")
        return hashlib.sha256(signature.encode()).hexdigest()[:32]


def _p256(key: object) -> ec.EllipticCurvePublicKey:
    """`key` when it is an EC P-256 public key, else a `ValueError` saying what it is instead."""
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        kind = f"an EC {key.curve.name} key"
    else:
        kind = f"a {type(key).__name__}"
    raise ValueError(
        f"the webhook public key is {kind}, but SendGrid signs with ECDSA P-256: set the event "
        "webhook's verification key (base64 DER of an EC P-256 public key)"
    )
