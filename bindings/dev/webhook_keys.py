"""A SendGrid-style event-webhook key pair for the local stack and tests, and signing with it.

SendGrid signs `timestamp + body` with ECDSA P-256 / SHA-256 (base64 DER signature) and publishes
the public key as base64 DER without PEM armour; this module does the same with a key of our own.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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
