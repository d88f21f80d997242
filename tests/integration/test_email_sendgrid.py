"""The SendGrid path through the real sidecars: API send, delivery, signed events back, suppression."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest

from functions.common import names
from tests.integration.helpers import read_jsonl
from tooling import deadletters, state_reader
from tooling.stack import DEMO_APPS, Stack
from tooling.waiting import eventually

APPS = (names.EMAIL_SEND, names.EMAIL_EVENTS, names.EMAIL_WEBHOOK)


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """email-send on the SendGrid provider, the webhook and the events consumer."""
    specs = [spec for spec in DEMO_APPS if spec.app_id in APPS]
    assert next(s for s in specs if s.app_id == names.EMAIL_SEND).env["EMAIL_PROVIDER"] == "sendgrid"
    return stack_factory(apps=specs)


def send(stack: Stack, to: str, template: str = "recovered") -> str:
    """Enqueue an email request; return its id."""
    request_id = f"req-{uuid.uuid4().hex[:10]}"
    message = {
        "version": 1, "request_id": request_id, "template": template, "to": to,
        "data": {"amount": 4200, "currency": "USD"},
    }  # fmt: skip
    stack.queue_service().get_queue_client(names.EMAIL_REQUESTS).send_message(json.dumps(message))
    return request_id


def api_calls(stack: Stack, address: str) -> list[dict[str, Any]]:
    """mail/send requests the sandbox accepted for `address`."""
    return [
        line["request"] for line in read_jsonl(stack.sendgrid_log)
        if address in json.dumps(line["request"]["personalizations"])
    ]  # fmt: skip


def captured(stack: Stack, address: str) -> list[EmailMessage]:
    """Mails the sandbox delivered to `address` in the SMTP capture."""
    parser = BytesParser(policy=policy.default)
    mails = [parser.parsebytes(p.read_bytes()) for p in sorted(stack.mail_dir.glob("*.eml"))]
    return [m for m in mails if address in str(m["X-Bindery-Envelope-To"])]


def record(stack: Stack, request_id: str) -> str:
    """`bindery emails REQUEST_ID`, or "" before the record exists."""
    try:
        return state_reader.emails_text(stack.config.root / "state" / "email.db", request_id, None)
    except ValueError:
        return ""


def test_a_request_is_sent_by_api_delivered_multipart_and_its_events_come_back(stack: Stack) -> None:
    """custom_args carry the request id and template; both parts; processed then delivered on its timeline."""
    address = f"ana-{uuid.uuid4().hex[:6]}@example.com"
    request_id = send(stack, address)
    (call,) = eventually(lambda: api_calls(stack, address), "the API call")
    assert call["custom_args"] == {"request_id": request_id, "email_template": "recovered"}
    assert [part["type"] for part in call["content"]] == ["text/plain", "text/html"]
    (mail,) = eventually(lambda: captured(stack, address), "the delivered mail")
    assert mail.get_content_type() == "multipart/alternative"
    assert str(mail["X-Bindery-Envelope-To"]) == address
    text = eventually(
        lambda: text if "lifecycle         delivered" in (text := record(stack, request_id)) else None,
        "the delivered event",
    )
    assert "status            sent" in text
    assert [line.split()[-1] for line in text.splitlines() if line.startswith("  20")] == [
        "processed",
        "delivered",
    ]


def test_a_bounce_comes_back_and_suppresses_the_next_request(stack: Stack) -> None:
    """The sandbox bounces `bounce*` addresses; the next request to one is recorded suppressed, not sent."""
    address = f"bounce-{uuid.uuid4().hex[:6]}@example.com"
    first = send(stack, address)
    eventually(lambda: "lifecycle         bounce" in record(stack, first), "the bounce event")
    second = send(stack, address, template="reminder")
    eventually(lambda: "status            suppressed" in record(stack, second), "the suppressed record")
    assert len(api_calls(stack, address)) == 1


def test_a_429_is_retried_and_the_mail_sent_once(stack: Stack) -> None:
    """SendGrid's rate limit is transient: the redelivery sends, and only once."""
    address = f"sg-429-{uuid.uuid4().hex[:6]}@example.com"
    request_id = send(stack, address)
    eventually(lambda: "status            sent" in record(stack, request_id), "the send after the 429")
    assert len(api_calls(stack, address)) == 1
    assert len(eventually(lambda: captured(stack, address), "the mail")) == 1


def test_persistent_5xx_is_dead_lettered_after_the_attempts_and_nothing_is_sent(stack: Stack) -> None:
    """A provider that keeps failing exhausts the attempts; the request lands in dead-letters, no record."""
    address = f"sg-500-{uuid.uuid4().hex[:6]}@example.com"
    request_id = send(stack, address)

    def letter() -> Any:
        return [
            row for row in deadletters.records(stack.blob_service(), stack.resources)
            if request_id in row.record.body.decode()
        ]  # fmt: skip

    (row,) = eventually(letter, "the exhausted dead letter", timeout=60)
    assert (row.record.kind, row.record.source) == ("exhausted", names.EMAIL_REQUESTS)
    assert "SendGrid answered 500" in row.record.reason
    assert api_calls(stack, address) == []
    assert record(stack, request_id) == ""
