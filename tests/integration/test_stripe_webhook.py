"""Stripe's signed events through the real sidecars: stripe-webhook → payment-events → payment-retry.

The intake asks the processor sandbox, as it would ask Stripe, for an invoice's decline; so every invoice
an event names is created in the sandbox first. The sandbox posts its own events to the intake too.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from functions.common import names
from functions.stripe_webhook.app import PATH
from functions.stripe_webhook.verify import SIGNATURE_HEADER
from tests.unit.stripe_webhook.stripe_events import customer, event, invoice, raw, signature
from tooling import cli, procs, state_reader
from tooling.sandboxes.processor_client import SandboxTransport
from tooling.stack import Stack
from tooling.waiting import eventually

APPS = (names.PAYMENT_RETRY, names.STRIPE_WEBHOOK)


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """The intake and the payment engine, with their sidecars, as `bindery run` starts them."""
    from tooling.stack import DEMO_APPS  # noqa: PLC0415 - the stack's own specs

    return stack_factory(apps=[spec for spec in DEMO_APPS if spec.app_id in APPS])


def post(stack: Stack, body: bytes, sign: str | None) -> int:
    """POST `body` to the running intake with `sign` as `Stripe-Signature`; the HTTP status answered."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if sign is not None:
        headers[SIGNATURE_HEADER] = sign
    url = stack.stripe_webhook_url  # http://127.0.0.1:<port>/stripe/events
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def failed_invoice(stack: Stack) -> tuple[str, str, bytes]:
    """A fresh `invoice.payment_failed` of a sandbox invoice with no attempt: invoice id, event id, body."""
    tag = uuid.uuid4().hex[:12]
    event_id = f"evt_it{tag}"
    invoice_id = SandboxTransport(stack.sandbox_port).create_invoice(f"cus_it{tag}", 2900, "eur")
    obj = invoice(id=invoice_id, customer=f"cus_it{tag}", customer_email=f"it-{tag}@example.com")
    body = raw(event("invoice.payment_failed", obj, event_id=event_id, created=int(time.time())))
    return invoice_id, event_id, body


def case(stack: Stack, case_id: str) -> dict[str, Any] | None:
    """payment-retry's stored case, as JSON, or None while there is none."""
    database = stack.config.root / "state" / "state.db"
    if not database.exists():
        return None
    rows = state_reader.values(database, names.PAYMENT_RETRY, f"case:{case_id}")
    found = [json.loads(value) for key, value in rows if key == f"case:{case_id}"]
    return found[0] if found else None


def log_lines(stack: Stack, app: str) -> list[dict[str, Any]]:
    """The JSON lines an app has logged so far (anything else it wrote to stderr left out)."""
    path = stack.log_dir / f"{app}.log"
    lines = []
    for text in path.read_text(errors="replace").splitlines() if path.exists() else ():
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def test_the_intake_runs_in_the_stack_with_the_stacks_secret(stack: Stack) -> None:
    """The stack serves the intake on loopback and verifies with a whsec_ secret it keeps under its root."""
    assert stack.stripe_webhook_url.endswith(PATH)
    assert stack.stripe_webhook_url.startswith("http://127.0.0.1:")
    secret = stack.stripe_webhook_secret
    assert secret.startswith("whsec_")
    assert stack.stripe_webhook_secret_file.read_text().strip() == secret


def test_a_signed_invoice_failure_delivered_twice_opens_one_case(stack: Stack) -> None:
    """invoice.payment_failed → 200 → a case on the invoice id; the same delivery again → 200, same case."""
    invoice_id, event_id, body = failed_invoice(stack)
    sign = signature(body, stack.stripe_webhook_secret)
    assert post(stack, body, sign) == 200
    opened = eventually(lambda: case(stack, invoice_id), "the case payment-retry opens")
    assert (opened["invoice"], opened["amount"], opened["currency"]) == (invoice_id, 2900, "EUR")
    assert opened["email"].startswith("it-")
    assert post(stack, body, sign) == 200  # Stripe redelivering the event (same id, same signature)
    duplicate = f"case {invoice_id} exists: duplicate payment.failed {event_id}"
    eventually(
        lambda: [line for line in log_lines(stack, names.PAYMENT_RETRY) if line["message"] == duplicate],
        "payment-retry taking the redelivery as a duplicate",
    )
    final = case(stack, invoice_id)
    assert final is not None
    assert [entry["event_id"] for entry in final["timeline"]].count(event_id) == 1
    queued = [line for line in log_lines(stack, names.STRIPE_WEBHOOK) if line.get("event_id") == event_id]
    assert [line["message"] for line in queued] == ["stripe event queued as payment.failed"] * 2


def test_a_forged_signature_is_refused_and_nothing_is_queued(stack: Stack) -> None:
    """Signed with another secret → 400, no case; a genuine event sent after it is taken."""
    invoice_id, event_id, body = failed_invoice(stack)
    assert post(stack, body, signature(body, "whsec_forged_" + uuid.uuid4().hex)) == 400
    assert post(stack, body, None) == 400  # unsigned
    stale = signature(body, stack.stripe_webhook_secret, at=int(time.time()) - 3600)
    assert post(stack, body, stale) == 400
    marker, _, genuine = failed_invoice(stack)
    assert post(stack, genuine, signature(genuine, stack.stripe_webhook_secret)) == 200
    eventually(lambda: case(stack, marker), "the case of a genuine event sent after the refused ones")
    assert case(stack, invoice_id) is None
    assert not [line for line in log_lines(stack, names.STRIPE_WEBHOOK) if line.get("event_id") == event_id]
    refused = [line for line in log_lines(stack, names.STRIPE_WEBHOOK) if "refused (400)" in line["message"]]
    assert len(refused) >= 3


def test_an_event_type_bindery_does_not_take_is_answered_200_and_ignored(stack: Stack) -> None:
    """customer.created is genuine but not a payment event: 200 (so Stripe stops), logged, nothing queued."""
    event_id = f"evt_it{uuid.uuid4().hex[:12]}"
    body = raw(event("customer.created", customer(), event_id=event_id, created=int(time.time())))
    assert post(stack, body, signature(body, stack.stripe_webhook_secret)) == 200
    lines = [line for line in log_lines(stack, names.STRIPE_WEBHOOK) if line.get("event_id") == event_id]
    assert [line["message"] for line in lines] == [
        "stripe event ignored: customer.created is not an event Bindery takes"
    ]


def test_a_sandbox_invoice_failure_is_dunned_with_its_real_decline(stack: Stack) -> None:
    """The sandbox posts invoice.payment_failed; the intake finds insufficient_funds: a soft, retried case."""
    tag = uuid.uuid4().hex[:12]
    sandbox = SandboxTransport(stack.sandbox_port)
    invoice_id = sandbox.create_invoice(
        f"cus_recover1_it{tag}", 2900, "eur", email=f"it-{tag}@example.com", subscription=f"sub_it{tag}"
    )
    sandbox.fail_invoice(invoice_id, "soft")
    opened = eventually(lambda: case(stack, invoice_id), "the case of the sandbox's invoice.payment_failed")
    assert (opened["invoice"], opened["customer_id"], opened["subscription_id"]) == (
        invoice_id, f"cus_recover1_it{tag}", f"sub_it{tag}"
    )  # fmt: skip
    assert (opened["waiting_for_update"], opened["held"]) == (False, None)
    assert opened["next_charge_at"] is not None
    failed = opened["timeline"][0]
    assert "insufficient_funds" in json.dumps(failed), failed
    queued = [
        line
        for line in log_lines(stack, names.STRIPE_WEBHOOK)
        if line.get("message") == "stripe event queued as payment.failed"
        and line.get("stripe_type") == "invoice.payment_failed"
    ]
    assert queued


def test_a_failure_missed_in_an_outage_is_backfilled_into_one_case(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never delivered (the webhook at a closed port): the backfill opens the case; run again, no change."""
    tag, since = uuid.uuid4().hex[:12], int(time.time()) - 1
    sandbox = SandboxTransport(stack.sandbox_port)
    sandbox.set_webhook(f"http://127.0.0.1:{procs.free_port()}{PATH}", stack.stripe_webhook_secret)
    try:
        invoice_id = sandbox.create_invoice(
            f"cus_it{tag}", 2900, "eur", email=f"it-{tag}@example.com", subscription=f"sub_it{tag}"
        )
        sandbox.fail_invoice(invoice_id, "soft")
    finally:
        stack.set_stripe_webhook(stack.stripe_webhook_url, stack.stripe_webhook_secret)
    time.sleep(1)
    assert case(stack, invoice_id) is None  # the outage: Stripe's event exists, the intake never saw it
    assert stack.azurite is not None
    monkeypatch.setenv("STRIPE_API_KEY", f"sk_test_it{tag}")
    argv = ["stripe", "backfill", "--since", str(since), "--stripe-url", f"http://127.0.0.1:{stack.sandbox_port}",
            "--connection-string", stack.azurite.connection_string]  # fmt: skip
    assert cli.main(argv) == 0
    assert "failed 0, queued" in capsys.readouterr().out
    opened = eventually(lambda: case(stack, invoice_id), "the case the backfilled failure opens")
    failed = opened["timeline"][0]
    assert "insufficient_funds" in json.dumps(failed), failed
    event_id = failed["event_id"]
    assert cli.main(argv) == 0  # a second backfill over the same window replays the same event
    duplicate = f"case {invoice_id} exists: duplicate payment.failed {event_id}"
    eventually(
        lambda: [line for line in log_lines(stack, names.PAYMENT_RETRY) if line["message"] == duplicate],
        "payment-retry taking the replay as a duplicate",
    )
    final = case(stack, invoice_id)
    assert final is not None
    assert [entry.get("event_id") for entry in final["timeline"]].count(event_id) == 1
