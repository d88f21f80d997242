"""A SendGrid-style event-webhook key pair for the local stack and tests, and signing with it.

SendGrid signs `timestamp + body` with ECDSA P-256 / SHA-256 (base64 DER signature) and publishes
the public key as base64 DER without PEM armour; this module does the same with a key of our own.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from functions.email_webhook.verify import SIGNATURE_HEADER, TIMESTAMP_HEADER

if TYPE_CHECKING:
    from pathlib import Path


def load_or_create(path: Path) -> ec.EllipticCurvePrivateKey:
    """The private key stored at `path` (PEM), created on first use."""
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = ec.generate_private_key(ec.SECP256R1())
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return key


def public_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo, no armour."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sign(key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def batch(events: list[dict[str, Any]]) -> bytes:
    """A webhook body as SendGrid sends it: a JSON array with CRLF between events."""
    return ("[" + ",\r\n".join(json.dumps(event) for event in events) + "]\r\n").encode()


def signed_headers(key: ec.EllipticCurvePrivateKey, body: bytes, stamp: str | None = None) -> dict[str, str]:
    """The headers SendGrid would send with `body` at `stamp` (now by default)."""
    stamp = stamp or str(int(time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(key, stamp, body),
    }
