"""The processor sandbox as Stripe Billing: invoice payments listed, failed attempts, signed events."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import stripe

from functions.common.stripe_lists import invoice_payments
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.mapping import PaymentEvent, map_event
from tests.unit.processor_helpers import (  # noqa: F401 - the *_fixture functions are pytest fixtures
    AUTH,
    call,
    ledger_path_fixture,
    pay,
    sandbox_fixture,
    transport_fixture,
)
from tooling.sandboxes import processor_webhooks

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tooling.sandboxes.processor import RunningSandbox
    from tooling.sandboxes.processor_client import SandboxTransport

SECRET = "whsec_sandbox_test_5c1d"
EMAIL, SUBSCRIPTION = "ines.moreau@example.com", "sub_sandbox_1"


class Receiver(ThreadingHTTPServer):
    """A webhook endpoint on loopback: answers `statuses` in turn (then 200), queues what it verified."""

    daemon_threads = True

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.events, self.posts = statuses, queue.Queue[dict[str, Any]](), 0
        super().__init__(("127.0.0.1", 0), _Receive)

    @property
    def url(self) -> str:
        """Where the sandbox should post."""
        return f"http://127.0.0.1:{self.server_address[1]}/stripe/events"

    def next_event(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next event verified with Stripe's own library."""
        return self.events.get(timeout=timeout)


class _Receive(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts += 1
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == 200:
            verified = stripe.Webhook.construct_event(body, self.headers["Stripe-Signature"], SECRET)
            self.server.events.put(verified.to_dict())
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def receiver(transport: SandboxTransport) -> Iterator[Receiver]:
    """A receiving endpoint the sandbox posts to; its first answer is 503, so every event is tried twice."""
    running = Receiver([503])
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    transport.set_webhook(running.url, SECRET)
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook retries a few hundredths of a second apart."""
    monkeypatch.setattr(processor_webhooks, "FIRST_PAUSE", 0.02)
    monkeypatch.setattr(
        processor_webhooks.Webhooks.__init__, "__defaults__", (processor_webhooks.ATTEMPTS, 0.02)
    )


def test_a_failed_attempt_posts_a_signed_invoice_payment_failed_the_intake_maps(
    transport: SandboxTransport, receiver: Receiver
) -> None:
    """fail_invoice posts a signed invoice.payment_failed (again after a 503); the intake maps its decline."""
    invoice = transport.create_invoice("cus_ok_1", 2900, "eur", email=EMAIL, subscription=SUBSCRIPTION)
    answered = transport.fail_invoice(invoice, "soft")
    assert (answered["status"], answered["attempt_count"]) == ("open", 1)
    event = receiver.next_event()
    assert receiver.posts == 2
    assert {k: event[k] for k in ("object", "type", "livemode", "pending_webhooks")} == {
        "object": "event", "type": "invoice.payment_failed", "livemode": False, "pending_webhooks": 1
    }  # fmt: skip
    assert event["id"].startswith("evt_")
    assert event["request"] == {"id": None, "idempotency_key": None}
    obj = event["data"]["object"]
    assert (obj["id"], obj["customer_email"], obj["status"], obj["next_payment_attempt"]) == (
        invoice, EMAIL, "open", None
    )  # fmt: skip
    assert obj["parent"]["subscription_details"]["subscription"] == SUBSCRIPTION
    assert (obj["amount_remaining"], obj["currency"], obj["collection_method"]) == (
        2900, "eur", "charge_automatically"
    )  # fmt: skip
    mapped = map_event(event, InvoiceDeclines(transport))
    assert isinstance(mapped, PaymentEvent)
    assert mapped.root["decline"] == {"code": "card_declined", "decline_code": "insufficient_funds"}
    [line] = transport.ledger()
    assert (line["key"], line["mode"], line["status"], line["outcome"]) == (
        f"auto:{invoice}:1",
        "invoice",
        402,
        "soft",
    )


def test_the_posted_invoice_failure_carries_the_hosted_page_the_local_intake_maps(
    sandbox: RunningSandbox, transport: SandboxTransport, receiver: Receiver
) -> None:
    """An authentication decline's event names the sandbox's invoice page; the local intake carries it."""
    invoice = transport.create_invoice("cus_ok_1", 2900, "eur", email=EMAIL, subscription=SUBSCRIPTION)
    transport.fail_invoice(invoice, "auth")
    event = receiver.next_event()
    page = f"http://127.0.0.1:{sandbox.port}/i/{invoice}"
    assert event["data"]["object"]["hosted_invoice_url"] == page
    assert call(sandbox.port, "GET", f"/i/{invoice}").status == 200
    local = map_event(event, InvoiceDeclines(transport), loopback_http=True)
    assert isinstance(local, PaymentEvent)
    assert (local.root["version"], local.root["payment_page_url"]) == (3, page)
    assert local.root["decline"]["code"] == "authentication_required"
    deployed = map_event(event, InvoiceDeclines(transport))  # https only: the loopback page is left out
    assert isinstance(deployed, PaymentEvent)
    assert "payment_page_url" not in deployed.root


def test_a_paid_invoice_posts_invoice_paid(transport: SandboxTransport, receiver: Receiver) -> None:
    """A /pay that succeeds posts invoice.paid with the paid invoice and its paid_at."""
    invoice = transport.create_invoice("cus_ok_1", 500, "eur", email=EMAIL, subscription=SUBSCRIPTION)
    assert transport.send(pay(invoice)).status == 200
    event = receiver.next_event()
    obj = event["data"]["object"]
    assert (event["type"], obj["id"], obj["status"], obj["amount_paid"]) == (
        "invoice.paid",
        invoice,
        "paid",
        500,
    )
    assert obj["status_transitions"]["paid_at"] is not None


def test_invoice_payments_lists_attempts_newest_first_with_their_intents(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """GET /v1/invoice_payments: Stripe's list, newest first; a declined intent holds its error."""
    invoice = transport.create_invoice("cus_ok_1", 700, "usd")
    transport.fail_invoice(invoice, "hard")
    transport.fail_invoice(invoice, "advice")
    assert transport.send(pay(invoice)).status == 200
    listed = json.loads(transport.send(invoice_payments(invoice=invoice, limit=10)).body)
    assert (listed["object"], listed["has_more"], listed["url"]) == ("list", False, "/v1/invoice_payments")
    intents = [payment["payment"]["payment_intent"] for payment in listed["data"]]
    assert [intent["status"] for intent in intents] == [
        "succeeded",
        "requires_payment_method",
        "requires_payment_method",
    ]
    assert intents[1]["last_payment_error"]["advice_code"] == "try_again_later"
    assert intents[2]["last_payment_error"]["code"] == "expired_card"
    assert [payment["status"] for payment in listed["data"]] == ["paid", "open", "open"]
    assert {payment["object"] for payment in listed["data"]} == {"invoice_payment"}
    assert InvoiceDeclines(transport)(invoice) == {"code": "generic_decline"}  # the newest one succeeded
    first = json.loads(transport.send(invoice_payments(invoice=invoice)).body)
    assert (len(first["data"]), first["has_more"], first["data"][0]) == (1, True, listed["data"][0])
    plain = call(sandbox.port, "GET", f"/v1/invoice_payments?invoice={invoice}", headers=AUTH).json()
    assert plain["data"][0]["payment"]["payment_intent"] == intents[0]["id"]


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        pytest.param("invoice=in_nowhere", AUTH, 404, id="unknown-invoice"),
        pytest.param("invoice={invoice}&customer=cus_ok_1", AUTH, 400, id="unknown-parameter"),
        pytest.param("invoice={invoice}&limit=0", AUTH, 400, id="bad-limit"),
        pytest.param("limit=3", AUTH, 400, id="no-invoice"),
        pytest.param("invoice={invoice}", {}, 401, id="no-key"),
    ],
)
def test_invoice_payments_refuses_what_it_cannot_answer(
    sandbox: RunningSandbox, transport: SandboxTransport, query: str, headers: dict[str, str], status: int
) -> None:
    """An unknown invoice is a 404, a parameter it does not take a 400, no key a 401: Stripe's errors."""
    invoice = transport.create_invoice("cus_ok_1", 700, "usd")
    reply = call(
        sandbox.port, "GET", "/v1/invoice_payments?" + query.format(invoice=invoice), headers=headers
    )
    assert reply.error() == (status, "invalid_request_error")


def test_failing_with_no_decline_or_a_paid_or_unknown_invoice_is_refused(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """No decline outcome, or a paid invoice: 400; an unknown invoice: 404. Nothing is recorded."""
    invoice = transport.create_invoice("cus_ok_1", 700, "usd")
    fail, unknown = f"/v1/sandbox/invoices/{invoice}/fail", "/v1/sandbox/invoices/in_nowhere/fail"
    assert call(sandbox.port, "POST", fail, b'{"outcome": "ok"}').status == 400
    assert call(sandbox.port, "POST", unknown, b'{"outcome": "soft"}').status == 404
    assert transport.send(pay(invoice)).status == 200
    paid = call(sandbox.port, "POST", fail, b'{"outcome": "soft"}')
    assert (paid.error(), paid.json()["error"]["message"]) == (
        (400, "invalid_request_error"),
        "Invoice is already paid",
    )
    assert len(transport.ledger()) == 1


def test_a_webhook_endpoint_must_have_a_url_and_a_signing_secret(sandbox: RunningSandbox) -> None:
    """POST /v1/sandbox/webhook refuses a secret that is not whsec_… and a URL that is not http(s)."""
    for bad in ({"url": "http://127.0.0.1:1/x", "secret": "sk_test_1"}, {"url": "ftp://x", "secret": SECRET}):
        assert call(sandbox.port, "POST", "/v1/sandbox/webhook", json.dumps(bad).encode()).status == 400


def test_an_event_nobody_takes_is_tried_a_few_times_and_never_blocks_the_api(
    transport: SandboxTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """An endpoint that always fails: fail_invoice answers at once; ATTEMPTS tries, then a log line."""
    endpoint = Receiver([500] * 10)
    thread = threading.Thread(target=endpoint.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        transport.set_webhook(endpoint.url, SECRET)
        invoice = transport.create_invoice("cus_ok_1", 700, "usd", email=EMAIL, subscription=SUBSCRIPTION)
        started = time.monotonic()
        transport.fail_invoice(invoice, "soft")
        assert time.monotonic() - started < 1
        deadline = time.monotonic() + 5
        while "not delivered" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert endpoint.posts == processor_webhooks.ATTEMPTS
        assert "not delivered" in caplog.text
    finally:
        endpoint.shutdown()
        endpoint.server_close()


def test_the_signature_is_stripes() -> None:
    """`signature` is what Stripe's library accepts, and what it refuses for another secret."""
    body = json.dumps(processor_webhooks.event("invoice.paid", {"id": "in_1", "object": "invoice"})).encode()
    header = processor_webhooks.signature(SECRET, body, int(time.time()))
    assert stripe.Webhook.construct_event(body, header, SECRET).type == "invoice.paid"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_other")
