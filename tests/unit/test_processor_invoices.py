"""The card-processor sandbox's invoices, and its restart, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.unit.processor_helpers import (  # noqa: F401 - the *_fixture functions are pytest fixtures
    AUTH,
    altered,
    call,
    intent,
    ledger,
    ledger_path_fixture,
    pay,
    sandbox_fixture,
    send,
    transport_fixture,
)
from tooling.sandboxes.processor import RunningSandbox, start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport


def test_sandbox_creates_open_invoices(sandbox: RunningSandbox) -> None:
    """POST /v1/sandbox/invoices (no key) answers the open Invoice; a bad body is a 400."""
    body = json.dumps({"customer": "cus_ok_1", "amount": 1250, "currency": "eur"}).encode()
    invoice = call(sandbox.port, "POST", "/v1/sandbox/invoices", body).json()
    assert invoice["id"].startswith("in_")
    assert invoice == {
        "id": invoice["id"], "object": "invoice", "status": "open", "customer": "cus_ok_1",
        "customer_email": None, "currency": "eur", "amount_due": 1250, "amount_paid": 0,
        "amount_remaining": 1250, "attempt_count": 0, "attempted": False,
        "collection_method": "charge_automatically", "next_payment_attempt": None, "parent": None,
        "created": invoice["created"], "status_transitions": {"paid_at": None},
        "hosted_invoice_url": f"http://127.0.0.1:{sandbox.port}/i/{invoice['id']}", "livemode": False,
        "metadata": {},
    }  # fmt: skip
    assert abs(invoice["created"] - time.time()) < 60
    page = call(sandbox.port, "GET", f"/i/{invoice['id']}")
    assert (page.status, page.headers["Content-Type"]) == (200, "text/html")
    for bad in ({"customer": "cus_ok_1", "amount": 0, "currency": "eur"}, {"customer": "x", "amount": 1}):
        reply = call(sandbox.port, "POST", "/v1/sandbox/invoices", json.dumps(bad).encode())
        assert reply.error() == (400, "invalid_request_error")


def test_paying_an_invoice_answers_it_paid_and_records_it_in_invoice_mode(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """The adapter's /pay answers the paid Invoice; the ledger line takes case and attempt from the key."""
    invoice = transport.create_invoice("cus_ok_1", 4200, "usd")
    answer = transport.send(pay(invoice, case_id="case-9", attempt=3))
    assert answer.status == 200
    paid = json.loads(answer.body)
    assert paid == {
        "id": invoice, "object": "invoice", "status": "paid", "customer": "cus_ok_1", "customer_email": None,
        "currency": "usd", "amount_due": 4200, "amount_paid": 4200, "amount_remaining": 0, "attempt_count": 1,
        "attempted": True, "collection_method": "charge_automatically", "next_payment_attempt": None,
        "parent": None, "created": paid["created"], "status_transitions": paid["status_transitions"],
        "hosted_invoice_url": f"http://127.0.0.1:{sandbox.port}/i/{invoice}", "livemode": False,
        "metadata": {},
    }  # fmt: skip
    assert paid["status_transitions"]["paid_at"] >= paid["created"]
    [line] = transport.ledger()
    assert {name: line[name] for name in ("key", "case_id", "attempt", "customer", "amount", "currency")} == {
        "key": "case-9:3", "case_id": "case-9", "attempt": 3, "customer": "cus_ok_1", "amount": 4200,
        "currency": "usd",
    }  # fmt: skip
    assert (line["mode"], line["invoice"], line["charge"]) == ("invoice", invoice, invoice)
    assert line["outcome"] == "ok"


def test_an_invoice_key_that_names_no_attempt_is_recorded_whole(transport: SandboxTransport) -> None:
    """A key that is not `{case_id}:{attempt}` becomes the line's case_id, with attempt 0."""
    invoice = transport.create_invoice("cus_ok_1", 100, "eur")
    assert transport.send(altered(pay(invoice), {}, key="free-form")).status == 200
    [line] = transport.ledger()
    assert (line["key"], line["case_id"], line["attempt"]) == ("free-form", "free-form", 0)


def test_a_declined_invoice_payment_leaves_the_invoice_open(transport: SandboxTransport) -> None:
    """A decline is the 402 card_error (intent without metadata); the invoice stays open, one attempt more."""
    invoice = transport.create_invoice("cus_hard_1", 990, "eur")
    answer = transport.send(pay(invoice))
    assert answer.status == 402
    error = json.loads(answer.body)["error"]
    assert (error["type"], error["code"], "decline_code" in error) == ("card_error", "expired_card", False)
    assert error["payment_intent"]["metadata"] == {}
    assert (error["payment_intent"]["amount"], error["payment_intent"]["customer"]) == (990, "cus_hard_1")
    [line] = transport.ledger()
    assert (line["status"], line["charge"], line["invoice"]) == (402, invoice, invoice)
    assert line["outcome"] == "hard"
    transport.script("cus_hard_1", ["ok"])
    paid = json.loads(transport.send(pay(invoice, attempt=2)).body)
    assert (paid["status"], paid["attempt_count"]) == ("paid", 2)


def test_a_paid_invoice_refuses_another_payment_but_replays_its_own(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """Paying a paid invoice under a new key is a 400 (not stored); the paying key still replays."""
    invoice = transport.create_invoice("cus_ok_1", 500, "eur")
    first = transport.send(pay(invoice))
    again = transport.send(pay(invoice, attempt=2))
    assert again.status == 400
    error = json.loads(again.body)["error"]
    assert error == {"type": "invalid_request_error", "message": "Invoice is already paid"}
    replay = send(sandbox.port, pay(invoice))
    assert (replay.status, replay.body, replay.headers["Idempotent-Replayed"]) == (200, first.body, "true")
    assert len(transport.ledger()) == 1


def test_an_unknown_invoice_is_404_resource_missing(transport: SandboxTransport) -> None:
    """Paying an invoice the sandbox never created is Stripe's 404 resource_missing on param invoice."""
    answer = transport.send(pay("in_nowhere"))
    assert answer.status == 404
    assert json.loads(answer.body)["error"] == {
        "type": "invalid_request_error", "code": "resource_missing", "param": "invoice",
        "message": "No such invoice: 'in_nowhere'",
    }  # fmt: skip
    assert transport.ledger() == []


def test_restart_reloads_ledger_and_invoices_and_keeps_replays(ledger_path: Path) -> None:
    """After a restart on the same files, keys replay, invoices are known, and torn lines are skipped."""
    first = start_sandbox(ledger_path)
    try:
        transport = SandboxTransport(first.port)
        declined = transport.send(intent("cus_soft_1"))
        paid_invoice = transport.create_invoice("cus_ok_2", 700, "eur")
        paid = transport.send(pay(paid_invoice, case_id="c-2"))
        open_invoice = transport.create_invoice("cus_ok_3", 800, "eur")
    finally:
        first.shutdown()
    for path in (ledger_path, ledger_path.with_name("ledger.invoices.jsonl")):
        with path.open("a", encoding="utf-8") as file:
            file.write('{"key": "torn')
    second = start_sandbox(ledger_path)
    try:
        transport = SandboxTransport(second.port)
        for request, before in ((intent("cus_soft_1"), declined), (pay(paid_invoice, case_id="c-2"), paid)):
            again = send(second.port, request)
            assert (again.status, again.body) == (before.status, before.body)
            assert again.headers["Idempotent-Replayed"] == "true"
        assert transport.send(intent("cus_soft_1", amount=1)).status == 400
        assert transport.send(pay(paid_invoice, case_id="c-2", attempt=2)).status == 400
        assert json.loads(transport.send(pay(open_invoice, case_id="c-3")).body)["status"] == "paid"
        assert [line["key"] for line in ledger(second.port)] == ["c-1:1", "c-2:1", "c-3:1"]
    finally:
        second.shutdown()


def test_a_json_body_to_pay_is_refused(sandbox: RunningSandbox, transport: SandboxTransport) -> None:
    """/pay has no required param to catch a JSON body, so its content type is refused: 400, nothing paid."""
    invoice = transport.create_invoice("cus_ok_1", 500, "eur")
    headers = AUTH | {"Idempotency-Key": "c-1:1", "Content-Type": "application/json"}
    path = f"/v1/invoices/{invoice}/pay"
    reply = call(sandbox.port, "POST", path, b'{"off_session": true}', headers=headers)
    assert reply.error() == (400, "invalid_request_error")
    assert transport.send(pay(invoice)).status == 200


PREFERENCES = {"bindery_timezone": "Europe/Stockholm", "bindery_locale": "sv"}


def test_an_invoices_metadata_is_kept_and_rendered(
    sandbox: RunningSandbox, transport: SandboxTransport
) -> None:
    """create_invoice(metadata=...) (or the JSON body's) is the Invoice's metadata, open and once paid."""
    invoice = transport.create_invoice("cus_ok_1", 1250, "eur", metadata=PREFERENCES)
    paid = json.loads(transport.send(pay(invoice)).body)
    assert (paid["id"], paid["status"], paid["metadata"]) == (invoice, "paid", PREFERENCES)
    body = {"customer": "cus_ok_1", "amount": 1, "currency": "eur", "metadata": {"k": "v"}}
    created = call(sandbox.port, "POST", "/v1/sandbox/invoices", json.dumps(body).encode()).json()
    assert created["metadata"] == {"k": "v"}


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({f"k{n}": "v" for n in range(51)}, id="51-keys"),
        pytest.param({"k" * 41: "v"}, id="a-key-of-41"),
        pytest.param({"": "v"}, id="an-empty-key"),
        pytest.param({"k": "v" * 501}, id="a-value-of-501"),
        pytest.param({"k": 7}, id="not-a-string"),
        pytest.param(["k", "v"], id="not-an-object"),
    ],
)
def test_metadata_beyond_stripes_limits_is_refused(sandbox: RunningSandbox, metadata: object) -> None:
    """Stripe's limits hold (50 keys, a key of 1-40 characters, a value of 500, strings): 400 beyond."""
    body = {"customer": "cus_ok_1", "amount": 100, "currency": "eur", "metadata": metadata}
    reply = call(sandbox.port, "POST", "/v1/sandbox/invoices", json.dumps(body).encode())
    assert reply.error() == (400, "invalid_request_error")
    at_limit = {f"{n:02d}" + "k" * 38: "v" * 500 for n in range(50)}
    accepted = call(
        sandbox.port, "POST", "/v1/sandbox/invoices", json.dumps(body | {"metadata": at_limit}).encode()
    )
    assert accepted.json()["metadata"] == at_limit


def test_restart_reloads_invoice_metadata_and_records_written_without_it(ledger_path: Path) -> None:
    """A restarted sandbox renders the metadata it kept; an older record (no metadata key) loads with {}."""
    older = {"id": "in_older1", "time": "2026-08-29T10:00:00+00:00", "customer": "cus_ok_4", "amount": 300,
             "currency": "eur", "email": None, "subscription": None}  # fmt: skip
    invoices_file = ledger_path.with_name("ledger.invoices.jsonl")
    invoices_file.write_text(json.dumps(older) + "\n", encoding="utf-8")
    first = start_sandbox(ledger_path)
    try:
        kept = SandboxTransport(first.port).create_invoice("cus_ok_5", 400, "eur", metadata=PREFERENCES)
    finally:
        first.shutdown()
    second = start_sandbox(ledger_path)
    try:
        transport = SandboxTransport(second.port)
        assert json.loads(transport.send(pay(kept, case_id="c-5")).body)["metadata"] == PREFERENCES
        assert json.loads(transport.send(pay("in_older1", case_id="c-4")).body)["metadata"] == {}
    finally:
        second.shutdown()
