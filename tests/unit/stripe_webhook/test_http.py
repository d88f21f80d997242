"""The intake's HTTP app on loopback over an in-memory queue: what each delivery is answered and queues."""

from __future__ import annotations

import http.client
import threading
from typing import TYPE_CHECKING, Any

import pytest

from bindings.errors import SettingsError, TransientError
from bindings.testing import MemoryQueue
from functions.common.stripe import StripeAnswer
from functions.payment_retry.model import PaymentFailed
from functions.stripe_webhook.app import (
    MAX_EVENT,
    PATH,
    PAYMENT_EVENTS_OUT,
    StripeWebhookServer,
    StripeWebhookSettings,
)
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.mapping import PaymentEvent
from functions.stripe_webhook.verify import Verifier
from tests.unit.stripe_webhook.invoice_payments import SOFT, Recording
from tests.unit.stripe_webhook.stripe_events import (
    INVOICE,
    SECRET,
    event,
    invoice,
    raw,
    signature,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

FAILED = raw(event("invoice.payment_failed", invoice()))


@pytest.fixture
def server() -> Iterator[StripeWebhookServer]:
    """The app on a free loopback port over a fresh MemoryQueue and a recording Stripe; 1 s read timeout."""
    declines = InvoiceDeclines(Recording())
    running = StripeWebhookServer(
        ("127.0.0.1", 0), Verifier(SECRET), MemoryQueue(PAYMENT_EVENTS_OUT), declines, read_timeout=1.0
    )
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def post(
    server: StripeWebhookServer, body: bytes, headers: dict[str, str] | None = None, *, path: str = PATH
) -> int:
    """POST `body` with `headers` (Content-Length added) and return the status answered."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def deliver(server: StripeWebhookServer, body: bytes) -> int:
    """POST `body` signed as Stripe signs it now."""
    return post(
        server, body, {"Stripe-Signature": signature(body, SECRET), "Content-Type": "application/json"}
    )


def sent(server: StripeWebhookServer) -> list[dict[str, Any]]:
    """The payment events queued so far, as JSON."""
    queue = server.queue
    assert isinstance(queue, MemoryQueue)
    return [message.root for message in queue.sent if isinstance(message, PaymentEvent)]


def test_a_genuine_failure_is_queued_and_answered_200(server: StripeWebhookServer) -> None:
    """A signed invoice.payment_failed is queued as a payment.failed its consumer accepts; answered 200."""
    assert deliver(server, FAILED) == 200
    (queued,) = sent(server)
    failed = PaymentFailed.model_validate(queued)
    assert (failed.payment_id, failed.decline.model_dump()) == (INVOICE, SOFT)
    assert [request.method for request in stripe(server).sent] == ["GET"]


def stripe(server: StripeWebhookServer) -> Recording:
    """The recording transport the server's decline lookup asks."""
    declines = server.invoice_decline
    assert isinstance(declines, InvoiceDeclines)
    assert isinstance(declines.transport, Recording)
    return declines.transport


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param(StripeAnswer(503, b'{"error": {"type": "api_error"}}'), 503, id="stripe-down"),
        pytest.param(StripeAnswer(429, b"{}"), 503, id="rate-limited"),
        pytest.param(StripeAnswer(404, b'{"error": {"message": "No such invoice"}}'), 422, id="refused"),
    ],
)
def test_a_decline_lookup_stripe_does_not_answer_is_retried_and_one_it_refuses_is_refused(
    server: StripeWebhookServer, answer: StripeAnswer, status: int
) -> None:
    """No answer to the lookup (429, 5xx): 503, so Stripe redelivers; a 4xx: 422. Nothing is queued."""
    stripe(server).answer = answer
    assert deliver(server, FAILED) == status
    assert sent(server) == []


def test_a_decline_lookup_without_any_answer_is_answered_503(server: StripeWebhookServer) -> None:
    """The binding gets no answer at all (TransientError): 503, never a guessed decline."""
    stripe(server).error = TransientError("Stripe via payment-gateway: no answer")
    assert deliver(server, FAILED) == 503
    assert sent(server) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="unsigned"),
        pytest.param({"Stripe-Signature": signature(FAILED, "whsec_forger")}, id="forged"),
        pytest.param({"Stripe-Signature": signature(FAILED, SECRET, at=1_700_000_000)}, id="stale"),
    ],
)
def test_a_delivery_that_is_not_stripes_is_answered_400_and_not_queued(
    server: StripeWebhookServer, headers: dict[str, str]
) -> None:
    """Unsigned, forged and stale deliveries: 400, nothing queued."""
    assert post(server, FAILED, headers) == 400
    assert sent(server) == []


def test_a_signed_body_that_is_not_an_event_is_answered_400(server: StripeWebhookServer) -> None:
    """Signed bytes that do not parse as JSON: 400, nothing queued."""
    assert deliver(server, b"{not json") == 400
    assert sent(server) == []


def test_a_body_over_the_limit_is_answered_413(server: StripeWebhookServer) -> None:
    """A body longer than MAX_EVENT is refused by its Content-Length before it is read."""
    assert deliver(server, b" " * (MAX_EVENT + 1)) == 413
    assert sent(server) == []


def test_an_unreachable_queue_is_answered_503_so_stripe_retries(server: StripeWebhookServer) -> None:
    """The queue fails (TransientError): 503, and Stripe delivers the event again later."""
    queue = server.queue
    assert isinstance(queue, MemoryQueue)
    queue.fail = TransientError("sidecar unavailable")
    assert deliver(server, FAILED) == 503
    queue.fail = None
    assert deliver(server, FAILED) == 200
    assert len(sent(server)) == 1


def test_ignored_events_are_answered_200_and_counted(server: StripeWebhookServer) -> None:
    """Smart Retries and other types: 200 (so Stripe does not retry them), counted by type, not queued."""
    retried = raw(event("invoice.payment_failed", invoice(next_payment_attempt=1_788_300_000)))
    assert deliver(server, retried) == 200
    assert deliver(server, raw(event("charge.refunded", {"id": "ch_1", "object": "charge"}))) == 200
    assert deliver(server, raw(event("charge.refunded", {"id": "ch_2", "object": "charge"}))) == 200
    assert sent(server) == []
    assert server.ignored == {"invoice.payment_failed": 1, "charge.refunded": 2}


def test_a_failure_without_an_email_is_answered_422_and_not_queued(server: StripeWebhookServer) -> None:
    """A genuine failure Bindery cannot dun without guessing an address: 422, logged, nothing queued."""
    assert deliver(server, raw(event("invoice.payment_failed", invoice(customer_email=None)))) == 422
    assert sent(server) == []


def test_a_redelivery_is_queued_again_under_the_same_event_id(server: StripeWebhookServer) -> None:
    """Stripe's duplicates are queued again: the engine dedupes on the event id, so none is ever lost."""
    assert deliver(server, FAILED) == 200
    assert deliver(server, FAILED) == 200
    assert [e["event_id"] for e in sent(server)] == ["evt_1QZrA9K2vT4xLpNcW7e1Xk3b"] * 2


def test_other_paths_and_the_health_check(server: StripeWebhookServer) -> None:
    """GET /healthz answers 204; a POST elsewhere 404, not verified."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    connection.request("GET", "/healthz")
    assert connection.getresponse().status == 204
    connection.close()
    assert post(server, FAILED, path="/sendgrid/events") == 404


def test_a_body_shorter_than_its_length_times_out_with_408(server: StripeWebhookServer) -> None:
    """A client that stops sending gets 408 after the read timeout."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    connection.putrequest("POST", PATH)
    connection.putheader("Content-Length", "100")
    connection.endheaders(b"{}")
    assert connection.getresponse().status == 408
    connection.close()


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        pytest.param({}, "STRIPE_WEBHOOK_SECRET", id="no-secret"),
        pytest.param({"STRIPE_WEBHOOK_SECRET": "sk_live_x"}, "whsec_", id="an-api-key"),
        pytest.param(
            {"STRIPE_WEBHOOK_SECRET": SECRET, "STRIPE_WEBHOOK_TOLERANCE_SECONDS": "0"},
            "positive",
            id="no-tolerance",
        ),
    ],
)
def test_settings_refuse_a_missing_secret_or_no_tolerance(environ: dict[str, str], problem: str) -> None:
    """The app stops at start without a whsec_ secret, or with a tolerance that turns the check off."""
    with pytest.raises(SettingsError, match=problem):
        StripeWebhookSettings.from_env(environ)


def test_settings_are_read_once_with_their_defaults() -> None:
    """The secret, Stripe's 300 s tolerance, and loopback:8080 unless set."""
    settings = StripeWebhookSettings.from_env({"STRIPE_WEBHOOK_SECRET": SECRET, "APP_PORT": "3011"})
    assert (settings.tolerance, settings.address) == (300, ("127.0.0.1", 3011))
