"""Verify a Stripe webhook delivery: the `Stripe-Signature` header over the raw body, then the event.

Stripe signs `f"{t}.{raw body}"` with HMAC-SHA256 under the endpoint's secret (`whsec_…`) and sends
`Stripe-Signature: t=…,v1=…`. While a secret is being rolled, the header holds one `v1=` value per
live secret: the official library (`stripe.Webhook.construct_event`) accepts the delivery when any of
them matches, and refuses a timestamp older than `tolerance` seconds (by this machine's clock), so a
captured delivery cannot be replayed later. Nothing may touch the bytes before this check.

Refusals are one type, `RefusedError` (answered 400: Stripe retries a delivery that was not answered
2xx, and a genuine one then arrives signed afresh):

- no header, a header without `t=` or `v1=`, no matching signature, a stale timestamp;
- a body that is not UTF-8 JSON, or JSON that is not a Stripe event;
- a v2 "thin" event notification (`"object": "v2.core.event"`): Bindery takes v1 snapshot events,
  whose `data.object` is the object as it was; a thin event would need an API call to read it.

An event rendered at another API version than `STRIPE_VERSION` is accepted, with a warning: its body
is rendered once, at the endpoint's version, and never changes, so refusing it would only have
Stripe retry the same body for three days while the payment it reports went undunned. The mapping
reads few fields and refuses an event that lacks one it needs, so a version whose shapes differ fails
loudly, event by event, instead of silently. The warning tells the operator to pin the endpoint's
version to `STRIPE_VERSION`.

The library loads its HTTP stack on import, so it is imported when a `Verifier` is built (at start),
not when this module is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from functions.common.framing import RefusedError
from functions.common.stripe import STRIPE_VERSION

SIGNATURE_HEADER = "Stripe-Signature"
THIN_EVENT = "v2.core.event"
DEFAULT_TOLERANCE = 300  # seconds: Stripe's own default, the oldest signature accepted
_log = logging.getLogger(__name__)

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "RefusedError", "Verifier"]


@dataclass(frozen=True)
class Verifier:
    """Checks deliveries against one endpoint secret (`whsec_…`) and a tolerance in seconds."""

    secret: str
    tolerance: int = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if not self.secret.startswith("whsec_"):
            raise ValueError("a webhook endpoint's signing secret starts with whsec_")
        if self.tolerance <= 0:
            raise ValueError(f"the tolerance is a positive number of seconds, not {self.tolerance}")
        import stripe  # noqa: PLC0415, F401 - loaded at start, not on import (see the module docstring)

    def verify(self, body: bytes, signature: str | None) -> dict[str, Any]:
        """The event `body` carries, as plain JSON data, or `RefusedError` saying why not."""
        import stripe  # noqa: PLC0415 - loaded by __post_init__ already: a dictionary look-up

        try:
            event = stripe.Webhook.construct_event(body, signature, self.secret, tolerance=self.tolerance)
        except stripe.SignatureVerificationError as error:
            raise RefusedError(400, f"{SIGNATURE_HEADER}: {error.user_message or error}") from error
        except UnicodeDecodeError as error:
            raise RefusedError(400, f"the body is not UTF-8: {error.reason}") from error
        except json.JSONDecodeError as error:
            raise RefusedError(400, f"the body is not JSON: {error}") from error
        except ValueError as error:  # the library's refusal of a thin event, after the signature passed
            raise RefusedError(400, _thin(body) or f"not a Stripe event: {error}") from error
        except (AttributeError, TypeError) as error:  # JSON, but not an object
            raise RefusedError(400, f"the body is JSON but not a Stripe event object: {error}") from error
        data: dict[str, Any] = event.to_dict()
        _check(data)
        return data


def _thin(body: bytes) -> str | None:
    """The reason for refusing a thin event, when `body` is one."""
    if json.loads(body).get("object") != THIN_EVENT:
        return None
    return (
        f"a v2 thin event ({THIN_EVENT}): Bindery takes v1 snapshot events; point a webhook endpoint"
        " with snapshot payloads at this URL"
    )


def _check(event: dict[str, Any]) -> None:
    """Refuse JSON that is not a v1 event; warn about one rendered at another API version."""
    if event.get("object") != "event":
        raise RefusedError(400, f"the body's object is {str(event.get('object'))[:40]!r}, not 'event'")
    for name in ("id", "type"):
        if not isinstance(event.get(name), str) or not event[name]:
            raise RefusedError(400, f"the event has no {name}")
    if not isinstance(event.get("created"), int) or not isinstance(event.get("data"), dict):
        raise RefusedError(400, f"event {event['id']}: no created time or no data")
    version = event.get("api_version")
    if version != STRIPE_VERSION:
        _log.warning(
            "event %s rendered at API version %s, not %s: set the endpoint's API version to %s",
            event["id"],
            version,
            STRIPE_VERSION,
            STRIPE_VERSION,
            extra={"event_id": event["id"], "api_version": version},
        )
