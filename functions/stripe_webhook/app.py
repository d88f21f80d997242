"""stripe-webhook: the public HTTP endpoint Stripe posts v1 events to; payment events go to a queue.

`POST /stripe/events` answers 200 once the mapped event is on `payment-events` (or when the event
is one Bindery ignores: other types, Smart Retries, the engine's own charges; counted in `ignored`
and logged), 400 for unsigned, forged, stale or unparsable deliveries and thin events (logged;
nothing is enqueued), 422 for a genuine payment event Bindery cannot act on without guessing (no
email, or Stripe refusing (4xx) the decline lookup: logged as an error; Stripe lists the failed
delivery on the endpoint and retries it for three days), 411/400/413 for framing the body as
email-webhook does (`functions.common.framing`; at most `MAX_EVENT` bytes), 408 when the body does
not arrive within the read timeout, 503 when the queue cannot be reached or Stripe does not answer
the decline lookup (Stripe retries), and 500 for anything unexpected. `GET /healthz` answers 204.

An `invoice.payment_failed` carries no decline at this API version: the intake asks Stripe for the
invoice's newest payment (`declines.InvoiceDeclines`) through the `payment-gateway` binding, which it
shares with payment-retry (the component holds the secret key).

Duplicates: Stripe delivers an event at least once. A redelivery is mapped and enqueued again under
the same `event_id` (`evt_…`), which the payment engine dedupes on its case timeline. The intake
keeps no state and answers 200 only once the queue has taken the event, so none is lost.

Settings (`settings.StripeWebhookSettings`, read at start): `STRIPE_WEBHOOK_SECRET` (required, `whsec_…`),
`STRIPE_WEBHOOK_TOLERANCE_SECONDS` (300), `APP_PORT`, `WEBHOOK_HOST` (127.0.0.1; 0.0.0.0 in a
container), `STRIPE_WEBHOOK_LINKS_LOOPBACK_HTTP` (empty; 1 in the local stack: `pages`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from bindings import logs
from bindings.dapr_ports import DaprQueue
from bindings.errors import BinderyError, SettingsError, TransientError
from functions.common import names, webhook_http
from functions.common.stripe_gateway import DaprStripeTransport
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.mapping import Ignored, InvoiceDecline, UnmappableError, map_event
from functions.stripe_webhook.settings import SETTINGS, StripeWebhookSettings
from functions.stripe_webhook.verify import SIGNATURE_HEADER, Verifier

if TYPE_CHECKING:
    from bindings.ports import Queue

__all__ = ["SETTINGS", "StripeWebhookServer", "StripeWebhookSettings", "serve"]

_log = logging.getLogger(__name__)
APP_ID = names.STRIPE_WEBHOOK
PAYMENT_EVENTS_OUT = names.PAYMENT_EVENTS_OUT  # the output binding on payment-events, scoped to this app
PATH = "/stripe/events"
MAX_EVENT = 1_000_000  # bytes: Stripe's events are kilobytes (an invoice's `lines` is one page of a list)
READ_TIMEOUT = webhook_http.READ_TIMEOUT
events = DaprQueue(PAYMENT_EVENTS_OUT)
declines = InvoiceDeclines(DaprStripeTransport(names.PAYMENT_GATEWAY))


class StripeWebhookServer(webhook_http.WebhookServer):
    """The webhook over a verifier, a queue and the invoice declines; `ignored` counts ignored events."""

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        queue: Queue,
        invoice_decline: InvoiceDecline,
        *,
        read_timeout: float = READ_TIMEOUT,
        loopback_http: bool = False,
    ) -> None:
        self.verifier, self.queue, self.read_timeout = verifier, queue, read_timeout
        self.invoice_decline, self.loopback_http = invoice_decline, loopback_http
        self.ignored: Counter[str] = Counter()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def count_ignored(self, event_type: str) -> None:
        """Count one ignored event of `event_type`."""
        with self._lock:
            self.ignored[event_type] += 1


class _Handler(webhook_http.WebhookHandler):
    server: StripeWebhookServer
    path_served = PATH
    label = "stripe webhook"
    limit = MAX_EVENT
    log = _log

    def deliver(self, body: bytes) -> None:
        self._deliver(self.server.verifier.verify(body, self.headers.get(SIGNATURE_HEADER)))

    def _deliver(self, event: dict[str, Any]) -> None:
        fields = {"event_id": event["id"], "stripe_type": event["type"]}
        try:
            mapped = map_event(event, self.server.invoice_decline, loopback_http=self.server.loopback_http)
        except UnmappableError as error:
            _log.error("stripe event not taken (422): %s", error, extra=fields)
            self.answer(422)
            return
        except TransientError as error:
            _log.warning("stripe event not mapped (503; Stripe will retry): %s", error, extra=fields)
            self.answer(503)
            return
        if isinstance(mapped, Ignored):
            self.server.count_ignored(event["type"])
            _log.info("stripe event ignored: %s", mapped.reason, extra=fields)
            self.answer(200)
            return
        try:
            self.server.queue.send(mapped)
        except BinderyError:
            _log.exception("stripe event %s not queued; Stripe will retry", event["id"], extra=fields)
            self.answer(503)
            return
        _log.info("stripe event queued as %s", mapped.root["type"], extra=fields)
        self.answer(200)


def serve() -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight."""
    try:
        logs.configure(APP_ID)
        settings = StripeWebhookSettings.from_env(os.environ)
        verifier = Verifier(settings.secret, settings.tolerance)
    except (SettingsError, ValueError) as error:
        sys.exit(f"{APP_ID}: {error}")
    server = StripeWebhookServer(
        settings.address, verifier, events, declines, loopback_http=settings.loopback_http
    )
    _log.info("%s listening on %s:%d%s", APP_ID, *settings.address, PATH)
    webhook_http.serve_until_stopped(server)


if __name__ == "__main__":
    serve()
