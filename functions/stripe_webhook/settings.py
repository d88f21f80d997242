"""stripe-webhook's settings (`SETTINGS`), and `StripeWebhookSettings`, read once at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings import client, logs
from bindings.errors import SettingsError
from bindings.settings import Setting
from functions.stripe_webhook.verify import DEFAULT_TOLERANCE

if TYPE_CHECKING:
    from collections.abc import Mapping

SECRET = Setting("STRIPE_WEBHOOK_SECRET", None, "the webhook endpoint's signing secret (whsec_…)")
TOLERANCE = Setting(
    "STRIPE_WEBHOOK_TOLERANCE_SECONDS", str(DEFAULT_TOLERANCE), "oldest signature accepted (s)"
)
HOST = Setting("WEBHOOK_HOST", "127.0.0.1", "the address the HTTP server binds (0.0.0.0 in the image)")
PORT = Setting("APP_PORT", "8080", "the port the HTTP server listens on")
LOOPBACK_HTTP = Setting(
    "STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP", "",
    "1: an invoice's hosted page may be http to loopback (the processor sandbox); the local stack only",
)  # fmt: skip
SETTINGS = (SECRET, TOLERANCE, HOST, PORT, LOOPBACK_HTTP, logs.LEVEL, client.SIDECAR_WAIT)


@dataclass(frozen=True)
class StripeWebhookSettings:
    """stripe-webhook's settings, read once at start."""

    secret: str
    tolerance: int
    address: tuple[str, int]
    loopback_http: bool = False  # an invoice's hosted page may be http to loopback (the local stack)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StripeWebhookSettings:
        """Read and check the settings; `SettingsError` names a bad one (an empty secret is not set)."""
        secret = SECRET.text(environ)
        if not secret or not secret.startswith("whsec_"):
            raise SettingsError("set STRIPE_WEBHOOK_SECRET (the endpoint's signing secret, whsec_…)")
        tolerance = TOLERANCE.integer(environ)
        if tolerance <= 0:
            raise TOLERANCE.refused(str(tolerance), "a positive number of seconds")
        return cls(
            secret=secret,
            tolerance=tolerance,
            address=(HOST.string(environ), PORT.integer(environ)),
            loopback_http=LOOPBACK_HTTP.string(environ) == "1",
        )
