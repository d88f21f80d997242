"""email-send: templated email. Each request on `email-requests` is rendered and sent at most once.

Settings are read when the app starts (`EmailSendSettings`); templates and the sender are built then.
Once a send (or a skip for a suppressed address) is recorded, its `EmailEvent` is published on the
`email` topic (`publications`); a failed publish redelivers the request, which publishes and sends nothing.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings.app import FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprPublisher, DaprStateStore
from bindings.errors import PermanentError, SettingsError
from bindings.settings import Setting
from functions.common import domain_events, names
from functions.common.mail import DaprMailer, SendGridMailer
from functions.common.messages import EmailRequested
from functions.email_send import publications
from functions.email_send.sends import Sends
from functions.email_send.templates import Brand, TemplateError, Templates

if TYPE_CHECKING:
    from collections.abc import Mapping

BRAND = Setting("EMAIL_BRAND", "Bindery", "the brand name emails are signed with")
FROM = Setting("EMAIL_FROM", "Bindery Billing <billing@bindery.example>", "the sender of every email")
PORTAL_URL = Setting(
    "EMAIL_PORTAL_URL", "https://billing.bindery.example/account", "the account page emails link to (https)"
)
LOOPBACK_HTTP = Setting(
    "EMAIL_LINKS_LOOPBACK_HTTP", "", "1: http links to loopback (Azurite) may be mailed; the local stack only"
)
PROVIDER = Setting("EMAIL_PROVIDER", "smtp", "smtp (the `email` binding) or sendgrid (the v3 API)")
SETTINGS = (BRAND, FROM, PORTAL_URL, LOOPBACK_HTTP, PROVIDER)


@dataclass(frozen=True)
class EmailSendSettings:
    """email-send's settings, read once at start."""

    brand: Brand
    loopback_http: bool
    provider: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EmailSendSettings:
        """Read and check the settings; `SettingsError` names a bad one."""
        brand = Brand(
            name=BRAND.string(environ), sender=FROM.string(environ), portal_url=PORTAL_URL.string(environ)
        )
        return cls(
            brand=brand,
            loopback_http=LOOPBACK_HTTP.string(environ) == "1",
            provider=PROVIDER.choice(environ, ("smtp", "sendgrid")),
        )


_log = logging.getLogger(__name__)
# Announces each dead letter on domain-events (`DeadLetterEvent`, topic dead-letters).
app = FunctionApp(names.EMAIL_SEND, events=DaprPublisher(names.DOMAIN_EVENTS))
clock = SystemClock()
smtp = DaprMailer(names.EMAIL)
sendgrid = SendGridMailer(names.SENDGRID_API)
# The email topic of domain-events: each recorded send or suppression's event (no call until a message).
email_events = domain_events.TopicQueue(DaprPublisher(names.DOMAIN_EVENTS), domain_events.EMAIL)


@functools.cache
def settings() -> EmailSendSettings:
    """The settings, from the environment on first use (at start)."""
    return EmailSendSettings.from_env(os.environ)


@functools.cache
def templates() -> Templates:
    """The templates for the configured brand; a portal URL that is not a safe link is a bad setting."""
    try:
        return Templates(settings().brand, loopback_http=settings().loopback_http)
    except TemplateError as error:
        raise SettingsError(str(error)) from error


@functools.cache
def sends() -> Sends:
    """Sends through the configured provider, at most once per request."""
    mailer = sendgrid if settings().provider == "sendgrid" else smtp
    return Sends(DaprStateStore(names.EMAIL_STATE), mailer, settings().brand.sender)


@app.on_start
def _start() -> None:
    """Read the settings and load the templates before the port opens: a bad one stops the app."""
    templates()
    sends()


@app.queue(names.EMAIL_REQUESTS, model=EmailRequested)
def on_email_requested(request: EmailRequested) -> None:
    """Render and send the request once; unknown templates, missing data, unsafe links: dead-lettered."""
    try:
        email = templates().render(request)
    except TemplateError as error:
        raise PermanentError(str(error)) from error
    status = sends().deliver(request, email, clock.now())
    if status in {"sent", "suppressed"}:  # recorded: publish (again, on a redelivery; counted once)
        event = publications.event(request, sends().record(request.request_id))
        if event is not None:
            email_events.send(event)
    _log.info(
        "email %s %s", request.request_id, status, extra={"template": request.template, "status": status}
    )


if __name__ == "__main__":
    app.run()
