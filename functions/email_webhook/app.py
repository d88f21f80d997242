"""email-webhook: the public HTTP endpoint SendGrid posts events to; verified batches go to a queue.

`POST /sendgrid/events` answers 204 once the batch is on `email-events` (SendGrid retries anything
else for 24 hours), 400/401/403 for malformed, unsigned, forged or stale requests (logged; nothing
is enqueued), 411 without a Content-Length (a chunked body included), 400 for one that is not
plain ASCII digits, given twice or sent with Transfer-Encoding, 413 for bodies over 5 MB (the framing
and the `RefusedError` of `functions.common.framing`, shared with stripe-webhook), 408 when the body
does not arrive within the read timeout, 503 when the queue cannot be reached, and 500 for anything
unexpected: every request that arrives whole gets an answer. `GET /healthz` answers 204.
Settings (`WebhookSettings`, read at start): `SENDGRID_WEBHOOK_PUBLIC_KEY` (required; an EC P-256
key, else the app exits at start), `APP_PORT`, `WEBHOOK_HOST` (127.0.0.1; 0.0.0.0 in a container),
`WEBHOOK_REPLAY_WINDOW_SECONDS` (300).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings import client, logs
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprQueue
from bindings.errors import BinderyError, SettingsError
from bindings.settings import Setting
from functions.common import names, webhook_http
from functions.common.messages import EmailEventBatch
from functions.email_webhook.verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, Verifier

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

    from bindings.ports import Clock, Queue

_log = logging.getLogger(__name__)
APP_ID = names.EMAIL_WEBHOOK
PATH = "/sendgrid/events"
READ_TIMEOUT = webhook_http.READ_TIMEOUT
events = DaprQueue(names.EMAIL_EVENTS_OUT)
PUBLIC_KEY = Setting("SENDGRID_WEBHOOK_PUBLIC_KEY", None, "the event webhook's verification key (EC P-256)")
REPLAY_WINDOW = Setting("WEBHOOK_REPLAY_WINDOW_SECONDS", "300", "age of the oldest signature accepted (s)")
HOST = Setting("WEBHOOK_HOST", "127.0.0.1", "the address the HTTP server binds (0.0.0.0 in the image)")
PORT = Setting("APP_PORT", "8080", "the port the HTTP server listens on")
SETTINGS = (PUBLIC_KEY, REPLAY_WINDOW, HOST, PORT, logs.LEVEL, client.SIDECAR_WAIT)


@dataclass(frozen=True)
class WebhookSettings:
    """email-webhook's settings, read once at start."""

    public_key: str
    replay_window: timedelta
    address: tuple[str, int]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookSettings:
        """Read and check the settings; `SettingsError` names a bad one (an empty key is not set)."""
        key = PUBLIC_KEY.text(environ)
        if not key:
            raise SettingsError("set SENDGRID_WEBHOOK_PUBLIC_KEY (the event webhook's verification key)")
        address = (HOST.string(environ), PORT.integer(environ))
        return cls(public_key=key, replay_window=REPLAY_WINDOW.seconds(environ), address=address)


class WebhookServer(webhook_http.WebhookServer):
    """The webhook over a verifier, a queue and a clock."""

    def __init__(
        self,
        address: tuple[str, int],
        verifier: Verifier,
        queue: Queue,
        clock: Clock,
        *,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.verifier, self.queue, self.clock = verifier, queue, clock
        self.read_timeout = read_timeout
        super().__init__(address, _Handler)


class _Handler(webhook_http.WebhookHandler):
    server: WebhookServer
    path_served = PATH
    label = "webhook"
    log = _log

    def deliver(self, body: bytes) -> None:
        now = self.server.clock.now()
        batch_id = self.server.verifier.verify(
            body, self.headers.get(SIGNATURE_HEADER), self.headers.get(TIMESTAMP_HEADER), now
        )
        try:
            self.server.queue.send(EmailEventBatch(batch_id=batch_id, received_at=now, body=body.decode()))
        except BinderyError:
            _log.exception("webhook batch %s not queued; SendGrid will retry", batch_id)
            self.answer(503)
            return
        _log.info("webhook batch queued", extra={"batch_id": batch_id, "bytes": len(body)})
        self.answer(204)


def serve() -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight."""
    try:
        logs.configure(APP_ID)
        settings = WebhookSettings.from_env(os.environ)
    except SettingsError as error:
        sys.exit(f"email-webhook: {error}")
    try:
        verifier = Verifier(settings.public_key, settings.replay_window)
    except ValueError as error:
        sys.exit(f"email-webhook: SENDGRID_WEBHOOK_PUBLIC_KEY: {error}")
    server = WebhookServer(settings.address, verifier, events, SystemClock())
    _log.info("email-webhook listening on %s:%d%s", *settings.address, PATH)
    webhook_http.serve_until_stopped(server)


if __name__ == "__main__":
    serve()
