"""`bindery stripe backfill`: paging through Stripe's events, replaying them oldest first, counting."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from bindings.errors import TransientError
from bindings.testing import MemoryQueue
from functions.common.stripe import StripeAnswer, StripeRequest
from functions.stripe_webhook.mapping import TYPES
from tests.unit.processor_helpers import ledger_path_fixture, sandbox_fixture  # noqa: F401 - fixtures
from tests.unit.stripe_webhook.invoice_payments import SOFT, invoice_payment, listed
from tests.unit.stripe_webhook.stripe_events import CREATED, customer, event, invoice, payment_intent
from tooling import backfill_cli, cli
from tooling.sandboxes.processor import RunningSandbox
from tooling.sandboxes.processor_client import SANDBOX_SECRET_KEY, SandboxTransport
from tooling.stripe_backfill import BackfillError, fetch, replay


@dataclass
class Stripe:
    """A transport answering `GET /v1/events` from `events` (newest first) as Stripe pages, and declines."""

    events: list[dict[str, Any]] = field(default_factory=list)
    events_answer: StripeAnswer | None = None
    decline_error: Exception | None = None
    sent: list[StripeRequest] = field(default_factory=list)

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Record, then answer a page of events or the invoice's payments."""
        self.sent.append(request)
        url = urlsplit(request.path)
        if url.path == "/v1/invoice_payments":
            if self.decline_error is not None:
                raise self.decline_error
            return listed(invoice_payment())
        if self.events_answer is not None:
            return self.events_answer
        query = dict(parse_qsl(url.query))
        ids = [e["id"] for e in self.events]
        start = ids.index(query["starting_after"]) + 1 if "starting_after" in query else 0
        limit = int(query["limit"])
        page = self.events[start : start + limit]
        body = {"object": "list", "data": page, "has_more": start + limit < len(ids), "url": "/v1/events"}
        return StripeAnswer(200, json.dumps(body).encode())


def _numbered(count: int) -> list[dict[str, Any]]:
    """`count` invoice failures, newest first as Stripe lists them, one second apart."""
    return [
        event("invoice.payment_failed", invoice(), event_id=f"evt_{n:04d}", created=CREATED + n)
        for n in reversed(range(count))
    ]


def test_every_page_is_fetched_after_the_last_id_and_replayed_oldest_first() -> None:
    """205 events: three pages of at most 100, each `starting_after` the page before; oldest first."""
    stripe = Stripe(_numbered(205))
    events = fetch(stripe, since=CREATED, until=CREATED + 999)
    assert [e["id"] for e in events] == [f"evt_{n:04d}" for n in range(205)]
    queries = [dict(parse_qsl(urlsplit(r.path).query)) for r in stripe.sent]
    assert [q.get("starting_after") for q in queries] == [None, "evt_0105", "evt_0005"]
    first = queries[0]
    assert (first["limit"], first["created[gte]"], first["created[lte]"]) == (
        "100",
        str(CREATED),
        str(CREATED + 999),
    )
    assert (
        tuple(
            value for key, value in parse_qsl(urlsplit(stripe.sent[0].path).query) if key.startswith("types")
        )
        == TYPES
    )


def test_events_of_the_same_second_replay_in_the_order_stripe_created_them() -> None:
    """Ties in `created`: Stripe lists the later first, so the replay takes them reversed."""
    same = [event("invoice.paid", invoice(), event_id=f"evt_{n}", created=CREATED) for n in ("c", "b", "a")]
    older = event("invoice.paid", invoice(), event_id="evt_z", created=CREATED - 1)
    assert [e["id"] for e in fetch(Stripe([*same, older]), since=0)] == ["evt_z", "evt_a", "evt_b", "evt_c"]


def test_each_event_is_mapped_as_the_intake_maps_it_and_counted() -> None:
    """Mapped (the decline looked up), ignored and unmappable with reasons; the mapped ones queued."""
    stripe, queue = Stripe(), MemoryQueue("payment-events")
    events = [
        event("invoice.payment_failed", invoice(), event_id="evt_failed"),
        event("customer.updated", customer(), event_id="evt_customer", previous={"name": "M"}),
        event("payment_intent.payment_failed", payment_intent(metadata={}), event_id="evt_intent"),
        event("invoice.payment_failed", invoice(customer_email=None), event_id="evt_noemail"),
    ]
    tally = replay(events, stripe, queue)
    assert (tally.listed, tally.mapped, tally.queued, tally.complete) == (4, 1, 1, True)
    assert sum(tally.ignored.values()) == 2
    assert len(tally.unmappable) == 1
    assert "evt_noemail" in tally.unmappable[0]
    assert "customer_email" in tally.unmappable[0]
    sent = queue.sent[0].model_dump()
    assert (sent["event_id"], sent["decline"]) == ("evt_failed", SOFT)
    report = "\n".join(tally.lines())
    assert report.startswith("listed 4, mapped 1, ignored 2, unmappable 1, failed 0, queued 1")
    assert "ignored 1: the customer's invoice_settings.default_payment_method did not change" in report


def test_a_dry_run_maps_and_queues_nothing() -> None:
    """No queue: the events are mapped and counted, and the report says none was queued."""
    tally = replay(_numbered(2), Stripe(), None)
    assert (tally.mapped, tally.queued) == (2, 0)
    assert "not queued (--dry-run)" in tally.lines(dry_run=True)[0]


def test_a_decline_lookup_without_an_answer_fails_that_event_only() -> None:
    """Stripe not answering for an invoice's decline: that event failed for now; the run is incomplete."""
    queue = MemoryQueue("payment-events")
    tally = replay([*_numbered(1), event("invoice.paid", invoice(amount_paid=2900), event_id="evt_paid")],
                   Stripe(decline_error=TransientError("timed out")), queue)  # fmt: skip
    assert (len(tally.failed), tally.queued, tally.complete) == (1, 1, False)
    assert "run again" in "\n".join(tally.lines())


def test_a_queue_that_fails_stops_the_run() -> None:
    """The queue refusing: the run stops there, saying so, with what was queued before."""
    queue = MemoryQueue("payment-events")
    queue.fail = TransientError("Azurite is down")
    tally = replay(_numbered(3), Stripe(), queue)
    assert (tally.listed, tally.queued, tally.complete) == (1, 0, False)
    assert tally.stopped is not None
    assert "Azurite is down" in tally.stopped


def test_a_listing_stripe_refuses_is_an_error_with_the_key_masked() -> None:
    """401 naming the key: `BackfillError` keeping its last four characters; 503: `TransientError`."""
    refused = json.dumps({"error": {"message": "Invalid API Key provided: sk_test_abcdefgh12345678"}})
    with pytest.raises(BackfillError, match="401") as raised:
        fetch(Stripe(events_answer=StripeAnswer(401, refused.encode())), since=0)
    assert "abcdefgh" not in str(raised.value)
    with pytest.raises(TransientError):
        fetch(Stripe(events_answer=StripeAnswer(503, b"")), since=0)


def test_the_command_refuses_to_run_without_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No STRIPE_API_KEY: exit 2 and a message naming the variable; no argument takes a key."""
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    assert cli.main(["stripe", "backfill", "--since", "2026-12-01"]) == 2
    assert "STRIPE_API_KEY" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        backfill_cli.parser().parse_args(["--since", "0", "--api-key", "sk_test_in_the_history"])


@pytest.mark.parametrize("url", ["http://api.stripe.com", "ftp://127.0.0.1"])
def test_the_key_is_never_sent_in_the_clear_off_loopback(url: str) -> None:
    """`--stripe-url` takes https, or http to loopback (the sandbox) only."""
    with pytest.raises(SystemExit):
        backfill_cli.parser().parse_args(["--since", "0", "--stripe-url", url])


def test_times_are_iso_8601_in_utc_unless_an_offset_is_given() -> None:
    """A date is midnight UTC, an offset counts, Unix seconds pass through."""
    assert backfill_cli.moment("2026-12-01") == 1_796_083_200
    assert backfill_cli.moment("2026-12-01T01:00+01:00") == 1_796_083_200
    assert backfill_cli.moment("1796083200") == 1_796_083_200


def test_a_dry_run_against_the_sandbox_lists_an_undelivered_failure(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over HTTP, the key from the environment: the sandbox's never-posted failure is listed and mapped."""
    transport = SandboxTransport(sandbox.port)
    invoice_id = transport.create_invoice(
        "cus_ok_1", 1250, "eur", email="a@example.com", subscription="sub_1"
    )
    transport.fail_invoice(invoice_id, "soft")
    monkeypatch.setenv("STRIPE_API_KEY", SANDBOX_SECRET_KEY)
    argv = [
        "stripe",
        "backfill",
        "--since",
        "2026-01-01",
        "--dry-run",
        "--stripe-url",
        f"http://127.0.0.1:{sandbox.port}",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 events listed" in out
    assert "listed 1, mapped 1, ignored 0, unmappable 0, failed 0, not queued (--dry-run)" in out
