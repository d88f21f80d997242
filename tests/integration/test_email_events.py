"""SendGrid's signed webhook through the real sidecars: verify, queue, timeline, suppression."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from functions.common import names
from functions.email_events.lifecycle import Timeline
from functions.email_webhook.app import PATH
from functions.email_webhook.verify import SIGNATURE_HEADER
from tests.integration.helpers import post_webhook
from tooling import state_reader, webhook_keys
from tooling.stack import Stack
from tooling.waiting import eventually

APPS = ("email-send", "email-events", "email-webhook")


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """The three email apps with their sidecars."""
    from tooling.stack import DEMO_APPS  # noqa: PLC0415 - the stack's own specs

    return stack_factory(apps=[spec for spec in DEMO_APPS if spec.app_id in APPS])


def post(stack: Stack, body: bytes, *, stamp: str | None = None, signature: str | None = None) -> int:
    """POST to the webhook, signed with the stack's key unless told otherwise; return the status."""
    headers = webhook_keys.signed_headers(webhook_keys.load_or_create(stack.webhook_key), body, stamp)
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return post_webhook(stack, body, headers)


def batch(*events: dict[str, Any]) -> bytes:
    """A webhook body as SendGrid sends it: a JSON array, CRLF between events."""
    return webhook_keys.batch(list(events))


def sg(kind: str, request_id: str, email: str, **more: Any) -> dict[str, Any]:
    """One SendGrid event with a fresh sg_event_id."""
    return {
        "email": email, "timestamp": int(time.time()), "event": kind, "sg_event_id": uuid.uuid4().hex,
        "request_id": request_id, **more,
    }  # fmt: skip


def timeline(stack: Stack, request_id: str) -> Timeline | None:
    """The stored timeline of a request, read from the email-state store."""
    rows = state_reader.values(
        stack.config.root / "state" / "email.db", "email-state", f"timeline:{request_id}"
    )
    found = [Timeline.model_validate_json(value) for _key, value in rows]
    return found[0] if found else None


def test_a_signed_batch_builds_the_timeline_once_even_when_replayed(stack: Stack) -> None:
    """Delivered and open land in order; the same POST again (within the window) adds nothing."""
    request_id, email = f"req-{uuid.uuid4().hex[:8]}", "ana@example.com"
    events = [
        sg("open", request_id, email),
        sg("delivered", request_id, email),
        sg("processed", request_id, email),
    ]
    body = batch(*events)
    stamp = str(int(time.time()))
    key = webhook_keys.load_or_create(stack.webhook_key)
    signature = webhook_keys.sign(key, stamp, body)
    assert post(stack, body, stamp=stamp, signature=signature) == 204
    assert post(stack, body, stamp=stamp, signature=signature) == 204  # SendGrid retrying, or a replay
    found = eventually(lambda: timeline(stack, request_id), "the timeline")
    assert found.status == "open"
    later = f"req-{uuid.uuid4().hex[:8]}"
    assert post(stack, batch(sg("delivered", later, email))) == 204  # queued behind the replay
    eventually(lambda: timeline(stack, later), "the later timeline")
    final = timeline(stack, request_id)
    assert final is not None
    assert sorted(entry.sg_event_id for entry in final.entries) == sorted(e["sg_event_id"] for e in events)


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        ("forged", 403),
        ("altered", 403),
        ("stale", 403),
        ("unsigned", 401),
        ("garbage-signature", 400),
    ],
)
def test_forged_altered_stale_and_unsigned_posts_are_refused_and_nothing_is_queued(
    stack: Stack, tamper: str, status: int
) -> None:
    """Each refusal has its status; the events never reach a timeline."""
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    body = batch(sg("delivered", request_id, "eve@example.com"))
    now = str(int(time.time()))
    key = webhook_keys.load_or_create(stack.webhook_key)
    if tamper == "forged":
        other = webhook_keys.load_or_create(stack.config.root / "run" / "attacker.pem")
        code = post(stack, body, signature=webhook_keys.sign(other, now, body), stamp=now)
    elif tamper == "altered":
        code = post(
            stack, body.replace(b"delivered", b"open"), signature=webhook_keys.sign(key, now, body), stamp=now
        )
    elif tamper == "stale":
        old = str(int(time.time()) - 600)
        code = post(stack, body, stamp=old, signature=webhook_keys.sign(key, old, body))
    elif tamper == "unsigned":
        port = stack.apps[names.EMAIL_WEBHOOK].ports.app
        request = urllib.request.Request(f"http://127.0.0.1:{port}{PATH}", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
        code = refused.value.code
    else:
        code = post(stack, body, signature="%%%not-base64%%%")
    assert code == status
    marker = f"req-{uuid.uuid4().hex[:8]}"
    assert post(stack, batch(sg("delivered", marker, "ok@example.com"))) == 204
    eventually(lambda: timeline(stack, marker), "a genuine batch sent after the refused one")
    assert timeline(stack, request_id) is None


def test_a_hard_bounce_suppresses_the_address_for_email_send(stack: Stack) -> None:
    """After a bounce event, a new email request to that address is recorded suppressed and not sent."""
    address = f"gone-{uuid.uuid4().hex[:6]}@example.com"
    assert post(stack, batch(sg("bounce", "req-old", address, type="bounce", reason="550 5.1.1"))) == 204
    database = stack.config.root / "state" / "email.db"
    eventually(
        lambda: list(state_reader.values(database, "email-state", f"suppressed:{address}")), "the suppression"
    )
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    message = {
        "version": 1, "request_id": request_id, "template": "reminder", "to": address,
        "data": {"amount": 900, "currency": "USD"},
    }  # fmt: skip
    stack.queue_service().get_queue_client(names.EMAIL_REQUESTS).send_message(json.dumps(message))
    eventually(lambda: "suppressed" in _record(database, request_id), "the suppressed record")
    mails = stack.mail_dir.glob("*.eml") if stack.mail_dir.exists() else []
    assert not [path for path in mails if address in path.read_text(errors="replace")]


def _record(database: Any, request_id: str) -> str:
    try:
        return state_reader.emails_text(database, request_id, None)
    except ValueError:
        return ""


@pytest.mark.parametrize(
    ("lengths", "status"),
    [
        ((), 411),
        (("-5",), 400),
        (("abc",), 400),
        (("6000000",), 413),
        (("",), 400),
        (("\N{SUPERSCRIPT TWO}",), 400),  # str.isdigit() is True, int() refuses it
        (("1\N{SUPERSCRIPT ONE}\N{SUPERSCRIPT THREE}",), 400),
        (("9" * 5000,), 413),  # beyond int()'s 4300-digit limit
        (("1" + "0" * 30,), 413),
        (("+5",), 400),
        (("5 5",), 400),
        (("5", "5"), 400),
        (("5", "7"), 400),
    ],
)
def test_a_crafted_content_length_is_answered_without_reading(
    stack: Stack, lengths: tuple[str, ...], status: int
) -> None:
    """Missing, non-ASCII, huge, negative, spaced or duplicated lengths get a status; no body is read."""
    port = stack.apps[names.EMAIL_WEBHOOK].ports.app
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", PATH)
    for length in lengths:
        connection.putheader("Content-Length", length)
    connection.endheaders()
    assert connection.getresponse().status == status
    connection.close()
    assert healthy(stack)


def healthy(stack: Stack) -> bool:
    """The webhook still serves after the crafted request: `/healthz` answers 204."""
    port = stack.apps[names.EMAIL_WEBHOOK].ports.app
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
        return bool(answer.status == 204)
