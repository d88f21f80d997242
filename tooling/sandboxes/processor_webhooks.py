"""The processor sandbox's outgoing webhooks: Stripe v1 events, signed as Stripe signs them.

`Webhooks.configure(url, secret)` (from `POST /v1/sandbox/webhook`) sets where events go; `emit(type,
obj)` builds the event (`evt_…`, `api_version` the pinned `STRIPE_VERSION`, `data.object` the object as
rendered now) and posts it from a daemon thread, so the API call that caused it is answered at once.
Each try is signed afresh: `Stripe-Signature: t=<now>,v1=<HMAC-SHA256(secret, "<t>.<body>")>`. A
delivery answered other than 2xx, or not answered, is tried again (`attempts` in all, doubling the
pause); one that never succeeds is logged, as is an event emitted with no endpoint configured. Every
event emitted, delivered or not, is first handed to `journal` (the sandbox keeps them for `GET /v1/events`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from functions.common.stripe import STRIPE_VERSION
from tooling.sandboxes.processor_stripe import new_id

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger(__name__)
ATTEMPTS = 4
FIRST_PAUSE = 0.5  # seconds before the second try; doubled before each next one


def signature(secret: str, body: bytes, at: int) -> str:
    """The `Stripe-Signature` header for `body` signed with `secret` at Unix time `at`."""
    signed = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={signed}"


def event(event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
    """A v1 snapshot event of `event_type` carrying `obj`, as Stripe posts it, created at `created` (now)."""
    return {
        "id": new_id("evt"), "object": "event", "api_version": STRIPE_VERSION,
        "created": int(time.time()) if created is None else created,
        "type": event_type, "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
    }  # fmt: skip


class Webhooks:
    """Where the sandbox posts its events, if anywhere, and the posting."""

    def __init__(
        self,
        attempts: int | None = None,
        first_pause: float | None = None,
        *,
        journal: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.journal = journal
        self.attempts = ATTEMPTS if attempts is None else attempts
        self.first_pause = FIRST_PAUSE if first_pause is None else first_pause
        self._lock = threading.Lock()
        self._target: tuple[str, str] | None = None

    def configure(self, url: str, secret: str) -> None:
        """Post every event from now on to `url`, signed with `secret` (`whsec_…`)."""
        with self._lock:
            self._target = (url, secret)

    def emit(self, event_type: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any] | None:
        """Keep an `event_type` event of `obj`, post it in the background; the event, or None if unposted."""
        posted = event(event_type, obj, created)
        if self.journal is not None:
            self.journal(posted)
        with self._lock:
            target = self._target
        if target is None:
            _log.info(
                "%s %s of %s not posted: no webhook endpoint configured",
                event_type,
                posted["id"],
                obj.get("id"),
            )
            return None
        body = json.dumps(posted, separators=(",", ":")).encode()
        thread = threading.Thread(
            target=self._deliver,
            args=(*target, posted["id"], body),
            name=f"webhook-{posted['id']}",
            daemon=True,
        )
        thread.start()
        return posted

    def _deliver(self, url: str, secret: str, event_id: str, body: bytes) -> None:
        problem = "not tried"
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.first_pause * 2 ** (attempt - 1))
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": signature(secret, body, int(time.time())),
            }
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - the configured endpoint
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    status = int(response.status)
            except urllib.error.HTTPError as error:
                status = error.code
                error.close()
            except (OSError, ValueError) as error:  # refused, reset, timed out; a URL urllib cannot use
                problem = f"{type(error).__name__}: {error}"
                continue
            if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
                _log.info("event %s posted to %s (%d)", event_id, url, status)
                return
            problem = f"answered {status}"
        _log.warning("event %s not delivered to %s after %d tries: %s", event_id, url, self.attempts, problem)
