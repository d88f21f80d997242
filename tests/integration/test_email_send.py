"""email_send through the real daprd: the storage queue in, the SMTP binding out to the capture."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from babel.numbers import format_currency

from functions.common import names
from functions.common.mail import OutgoingMail, smtp_request
from tests.integration.helpers import HERE
from tooling import deadletters
from tooling.paths import project_root
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually

SENDER = "billing@bindery.example"


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """email-send alone, with a plain sender address."""
    spec = AppSpec(names.EMAIL_SEND, "functions.email_send.app", env={"EMAIL_FROM": SENDER})
    return stack_factory(apps=[spec])


def mails(stack: Stack) -> list[EmailMessage]:
    """Every captured mail, parsed."""
    if not stack.mail_dir.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(stack.mail_dir.glob("*.eml"))]


def envelope(mail: EmailMessage) -> set[str]:
    """Who the SMTP server was asked to deliver to."""
    return {address.strip() for address in str(mail["X-Bindery-Envelope-To"]).split(",")}


def addressed_to(stack: Stack, address: str) -> list[EmailMessage]:
    """Captured mails whose envelope includes `address`."""
    return [mail for mail in mails(stack) if address in envelope(mail)]


def request(**overrides: Any) -> dict[str, Any]:
    """An EmailRequested body for a fresh recipient."""
    tag = uuid.uuid4().hex[:8]
    return {
        "version": 1, "request_id": f"req-{tag}", "template": "recovered", "locale": "de",
        "to": f"kunde-{tag}@example.com",
        "data": {"amount": 1999, "currency": "EUR", "case_id": f"pay_{tag}"},
    } | overrides  # fmt: skip


def enqueue(stack: Stack, body: dict[str, Any] | str) -> None:
    """Put a message on email-requests."""
    text = body if isinstance(body, str) else json.dumps(body)
    stack.queue_service().get_queue_client(names.EMAIL_REQUESTS).send_message(text)


def test_a_request_becomes_one_localized_mail_to_exactly_its_recipient(stack: Stack) -> None:
    """Headers as requested, German subject, HTML body; a redelivered request id sends nothing more."""
    body = request()
    enqueue(stack, body)
    enqueue(stack, body)  # the same request delivered twice
    (mail,) = eventually(lambda: addressed_to(stack, body["to"]), "the mail")
    assert envelope(mail) == {body["to"]}
    amount = format_currency(Decimal("19.99"), "EUR", locale="de")  # CLDR's writing, not hand-typed
    assert re.sub(r"\D", "", amount) == "1999"  # the minor units in order, whatever CLDR's separators
    assert (mail["From"], mail["To"], mail["Subject"]) == (SENDER, body["to"], f"Zahlung erhalten: {amount}")
    assert mail.get_content_type() == "text/html"
    assert "Danke, Ihre Zahlung ist eingegangen" in mail.get_content()
    later = request()
    enqueue(stack, later)  # behind the duplicate: once it arrives, the duplicate was handled
    eventually(lambda: addressed_to(stack, later["to"]), "the mail after the duplicate")
    assert len(addressed_to(stack, body["to"])) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"template": "nope"}, "unknown email template nope v1"),
        ({"template_version": 9}, "recovered v9"),
        ({"to": "a;victim@example.com"}, "';' is not allowed in a local part"),
        ({"to": "a..b@example.com"}, "consecutive dots"),
        ({"to": "a@-example.com"}, "starts or ends with '-'"),
        ({"template": "invoice", "data": {"amount": 5, "currency": "EUR", "url": "https://files.example/i.pdf",
                                          "invoice_number": "1\r\nBcc: x@y.z"}}, "line break"),
        ({"template": "receipt", "data": {"amount": 5, "currency": "EUR", "url": "javascript:alert(1)"}},
         "data.url: 'javascript:alert(1)' is not a safe link"),
        ({"template": "receipt", "data": {"amount": 5, "currency": "EUR", "url": "http://files.example/r.pdf"}},
         "not a safe link"),
        ({"template": "receipt"}, "missing data"),
        ({"data": {"blob": "x" * 9000}}, "at most 8000"),
    ],
)  # fmt: skip
def test_bad_requests_are_dead_lettered_and_nothing_is_sent(
    stack: Stack, change: dict[str, Any], reason: str
) -> None:
    """Each bad request lands in dead-letters with its reason, and no mail goes to anyone."""
    body = request(**change)
    enqueue(stack, body)

    def letter() -> Any:
        return [
            row for row in deadletters.records(stack.blob_service(), stack.resources)
            if body["request_id"] in row.record.body.decode()
        ]  # fmt: skip

    (row,) = eventually(letter, "the dead letter")
    assert row.record.source == names.EMAIL_REQUESTS
    assert reason in row.record.reason
    assert not [
        m for m in mails(stack) if body["request_id"] in str(m) or "victim" in str(m["X-Bindery-Envelope-To"])
    ]


def invoke(stack: Stack, metadata: dict[str, str], subject: str) -> None:
    """Call the SMTP binding through daprd's HTTP API, as a naive caller would."""
    ports = stack.apps[names.EMAIL_SEND].ports
    body = json.dumps(
        {"operation": "create", "data": "<p>hi</p>", "metadata": {**metadata, "subject": subject}}
    )
    call = urllib.request.Request(
        f"http://127.0.0.1:{ports.http}/v1.0/bindings/{names.EMAIL}", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "dapr-api-token": stack.dapr_token or ""},
    )  # fmt: skip
    with urllib.request.urlopen(call, timeout=10) as answer:  # noqa: S310
        assert answer.status in {200, 204}


def test_the_binding_keeps_a_cc_for_the_next_send_unless_every_field_is_set(stack: Stack) -> None:
    """The trap: a CC set once reaches a later mail that set only To. Setting every field closes it."""
    tag = uuid.uuid4().hex[:6]
    first, second, third, cc = (f"{name}-{tag}@example.com" for name in ("first", "second", "third", "cc"))
    invoke(stack, {"emailFrom": SENDER, "emailTo": first, "emailCC": cc}, f"one {tag}")
    invoke(stack, {"emailFrom": SENDER, "emailTo": second}, f"two {tag}")
    (leaked,) = eventually(lambda: addressed_to(stack, second), "the naive second mail")
    # It also carries the BCC of whatever mail the binding sent before: only ever send via DaprMailer.
    assert {second, cc} <= envelope(leaked), "daprd's smtp binding no longer keeps CC: revisit DaprMailer"
    safe = OutgoingMail(sender=SENDER, to=(third,), subject=f"three {tag}", html="<p>hi</p>")
    invoke(stack, smtp_request(safe), safe.subject)
    (mail,) = eventually(lambda: addressed_to(stack, third), "the third mail")
    assert envelope(mail) == {third}


def test_200_parallel_sends_each_reach_exactly_their_recipients(stack: Stack) -> None:
    """200 mails from 32 threads through one sidecar, some with CC or BCC: each envelope exactly as asked."""
    tag = uuid.uuid4().hex[:6]
    wanted: list[dict[str, Any]] = []
    for index in range(200):
        cc = [f"cc{index}-{tag}@example.com"] if index % 10 == 0 else []
        bcc = [f"bcc{index}-{tag}@example.com"] if index % 7 == 0 else []
        wanted.append({
            "sender": SENDER, "to": [f"r{index}-{tag}@example.com"], "cc": cc, "bcc": bcc,
            "subject": f"burst {tag} {index}", "html": f"<p>{index}</p>",
        })  # fmt: skip
    ports = stack.apps[names.EMAIL_SEND].ports
    env = {
        "DAPR_GRPC_PORT": str(ports.grpc), "DAPR_HTTP_PORT": str(ports.http),
        "DAPR_API_TOKEN": stack.dapr_token or "", "PYTHONPATH": str(project_root()),
    }  # fmt: skip
    subprocess.run(
        [sys.executable, str(HERE / "probe" / "mail_burst.py")], input=json.dumps(wanted), text=True,
        env={**os.environ, **env}, check=True, capture_output=True, timeout=120,
    )  # fmt: skip

    def burst() -> list[EmailMessage]:
        return [mail for mail in mails(stack) if str(mail["Subject"]).startswith(f"burst {tag} ")]

    got = eventually(
        lambda: found if len(found := burst()) >= 200 else None, "200 captured mails", timeout=60
    )
    assert len(got) == 200
    by_subject = {str(mail["Subject"]): mail for mail in got}
    for index, sent in enumerate(wanted):
        mail = by_subject[f"burst {tag} {index}"]
        assert envelope(mail) == set(sent["to"] + sent["cc"] + sent["bcc"]), index
        assert str(mail["To"]) == sent["to"][0]
        assert str(mail["Cc"]) == (sent["cc"] or sent["to"])[0]
        assert mail["Bcc"] is None
        assert mail.get_content().strip() == f"<p>{index}</p>"
