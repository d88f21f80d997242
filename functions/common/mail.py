"""The mail port: one outgoing email, the `Mailer` protocol, and its two Dapr implementations.

The `bindings.smtp` binding (`DaprMailer`) and SendGrid's v3 API through `bindings.http` (`SendGridMailer`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bindings.client import call
from bindings.errors import PermanentError, http_error
from functions.common.addresses import address_problem

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One email, with every recipient field explicit (an empty tuple means none)."""

    sender: str
    to: tuple[str, ...]
    subject: str
    html: str
    text: str = ""  # the plain-text part, for providers that send multipart
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    custom_args: Mapping[str, str] = field(default_factory=dict)  # provider tags, e.g. the request id


class Mailer(Protocol):
    """Sends email through one output binding."""

    def send(self, mail: OutgoingMail) -> None:
        """Send `mail` to exactly its recipients."""


class DaprMailer:
    """`Mailer` over a `bindings.smtp` output binding.

    The binding merges each request's fields into the component's own metadata and keeps them
    for the next send, without a lock, and an empty field cannot clear a kept one. So sends from
    one process are serialised and every field is set on every send: CC and BCC, when a mail has
    none, are set to its own To addresses, which the binding's mailer drops from the envelope as
    duplicates (the mail then shows its recipient in a `Cc` header, and reaches nobody else).
    The binding sends one `text/html` part; `mail.text` is not sent (no multipart over SMTP).
    """

    _lock = threading.Lock()

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def send(self, mail: OutgoingMail) -> None:
        """Send `mail` to exactly its To, CC and BCC addresses."""
        request = smtp_request(mail)
        with self._lock:
            call(
                f"send mail via {self.binding}",
                lambda c: c.invoke_binding(self.binding, "create", mail.html.encode(), request),
            )


def smtp_request(mail: OutgoingMail) -> dict[str, str]:
    """The smtp binding's request metadata for `mail`, every field set; `PermanentError` if unsafe."""
    if not mail.to:
        raise PermanentError("a mail needs at least one recipient")
    for address in (mail.sender, *mail.to, *mail.cc, *mail.bcc):
        _plain_address(address)
    if "\r" in mail.subject or "\n" in mail.subject:
        raise PermanentError("a subject cannot hold a line break")
    to = ";".join(mail.to)
    return {
        "emailFrom": mail.sender,
        "emailTo": to,
        "emailCC": ";".join(mail.cc) or to,
        "emailBCC": ";".join(mail.bcc) or to,
        "subject": mail.subject,
    }


def _plain_address(address: str) -> None:
    mailbox = address.rsplit("<", 1)[-1].rstrip(">") if address.endswith(">") else address
    problem = address_problem(mailbox)
    if problem is not None or any(c in address for c in ";,\r\n"):
        raise PermanentError(f"not a plain email address: {address!r}: {problem or 'a list or a line break'}")


class SendGridMailer:
    """`Mailer` over SendGrid's v3 `mail/send`, through a `bindings.http` output binding.

    The body is built by the `sendgrid` package's `Mail` helper, with both parts and the mail's
    custom arguments (SendGrid copies them onto every webhook event, which is how events find their
    request). The binding carries the `Authorization` header (`securityToken`). Its answer is read
    by `errors.http_error`: 429 and 5xx are transient (retried on redelivery; SendGrid's
    `Retry-After` is logged in the error), other non-2xx answers are permanent.
    """

    def __init__(self, binding: str) -> None:
        self.binding = binding

    def send(self, mail: OutgoingMail) -> None:
        """Send `mail` through the API."""
        # Imported on the first send: the helper costs ~40 ms of start-up the SMTP path never needs.
        from sendgrid.helpers.mail import Bcc, Cc, CustomArg, Mail, To  # noqa: PLC0415

        smtp_request(mail)  # the same address and subject checks as the SMTP path
        message = Mail(
            from_email=mail.sender,
            to_emails=[To(address) for address in mail.to],
            subject=mail.subject,
            html_content=mail.html,
            plain_text_content=mail.text or None,
        )
        for address in mail.cc:
            message.add_cc(Cc(address))
        for address in mail.bcc:
            message.add_bcc(Bcc(address))
        for name, value in mail.custom_args.items():
            message.custom_arg = CustomArg(name, value)
        body = json.dumps(message.get()).encode()
        request = {"path": "/v3/mail/send", "errorIfNot2XX": "false", "Content-Type": "application/json"}
        response = call(
            f"send mail via {self.binding}", lambda c: c.invoke_binding(self.binding, "post", body, request)
        )
        status = int(response.binding_metadata.get("statusCode", "0") or 0)
        answer = bytes(response.data).decode(errors="replace")[:500]
        wait = response.binding_metadata.get("Retry-After")
        error = http_error(status, "SendGrid", f"(Retry-After {wait}) {answer}" if wait else answer)
        if error is not None:
            raise error
