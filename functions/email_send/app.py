"""email-send: templated email. Each request on `email-requests` is rendered and sent at most once."""

from __future__ import annotations

import logging
import os

from bindings import names
from bindings.app import FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_mail import DaprMailer, SendGridMailer
from bindings.dapr_ports import DaprStateStore
from bindings.errors import PermanentError
from bindings.messages import EmailRequested
from functions.email_send.sends import Sends
from functions.email_send.templates import Brand, TemplateError, Templates

_log = logging.getLogger(__name__)
app = FunctionApp(names.EMAIL_SEND)
clock = SystemClock()
brand = Brand(
    name=os.environ.get("EMAIL_BRAND", "Bindery"),
    sender=os.environ.get("EMAIL_FROM", "Bindery Billing <billing@bindery.example>"),
    portal_url=os.environ.get("EMAIL_PORTAL_URL", "https://billing.bindery.example/account"),
)
# EMAIL_LINKS_LOOPBACK_HTTP=1 (the local stack only): http links to loopback (Azurite) may be mailed.
LOOPBACK_HTTP = os.environ.get("EMAIL_LINKS_LOOPBACK_HTTP", "") == "1"
try:
    templates = Templates(brand, loopback_http=LOOPBACK_HTTP)
except TemplateError as error:
    raise SystemExit(f"email-send: {error}") from error
smtp = DaprMailer(names.EMAIL)
sendgrid = SendGridMailer(names.SENDGRID_API)
# EMAIL_PROVIDER: smtp (the `email` binding) or sendgrid (the v3 API; events map back to requests).
PROVIDER = os.environ.get("EMAIL_PROVIDER", "smtp")
if PROVIDER not in {"smtp", "sendgrid"}:
    raise SystemExit(f"email-send: EMAIL_PROVIDER must be smtp or sendgrid, not {PROVIDER!r}")
sends = Sends(DaprStateStore(names.EMAIL_STATE), sendgrid if PROVIDER == "sendgrid" else smtp, brand.sender)


@app.queue(names.EMAIL_REQUESTS, model=EmailRequested)
def on_email_requested(request: EmailRequested) -> None:
    """Render and send the request once; unknown templates, missing data, unsafe links: dead-lettered."""
    try:
        email = templates.render(request)
    except TemplateError as error:
        raise PermanentError(str(error)) from error
    status = sends.deliver(request, email, clock.now())
    _log.info(
        "email %s %s", request.request_id, status, extra={"template": request.template, "status": status}
    )


if __name__ == "__main__":
    app.run()
