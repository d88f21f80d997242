"""A payment.succeeded while our retry's charge is in flight (issue 15, item 2), through two replicas.

Two payment-retry replicas, each behind its own daprd, share a PostgreSQL state store (with the
deployed table prefix, so `bindery cases --state-url` reads it). The customer is the card sandbox's
`cus_timeout_` kind: the sandbox records the charge as paid, then answers 200 only after its stall
(5 s by default, under the gateway's 10 s `responseTimeout`). The success is sent once the case
shows the attempt pending, so it closes the case while the charge is out: `doubles.answered_after_close`.
The lease is far longer than the stall, so no other replica replays the charge meanwhile.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.common import names
from functions.payment_retry.model import Case
from functions.payment_retry.publications import LAST_EMAIL
from tests.integration.helpers import postgres_components, read_jsonl
from tests.integration.test_payment_retry import failed, queued, send
from tooling import cli, postgres, state_reader
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def replicas(
    stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, str]]:
    """components/local with PostgreSQL as the state store, two payment-retry replicas; its connection."""
    folder = tmp_path_factory.mktemp("pg-components")
    server = postgres.start(folder / "postgres.log")
    try:
        postgres_components(folder, server.connection_string)
        stack = stack_factory(apps=[], components=folder, values={"RETRY_TICK_SCHEDULE": "@every 1s"})
        env = {"RETRY_TICK_BUDGET_SECONDS": "0.8", "RETRY_LEASE_SECONDS": "60"}
        for instance in ("r0", "r1"):
            stack.start_app(
                AppSpec(names.PAYMENT_RETRY, "functions.payment_retry.app", env=env, instance=instance)
            )
        yield stack, server.connection_string
    finally:
        stack.stop() if "stack" in locals() else None
        server.stop()


def test_a_success_during_our_paid_charge_is_double_collected_once(
    replicas: tuple[Stack, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A success while our slow charge is out, then paid: one charge, double_collected, one refund review."""
    stack, connection = replicas
    event = failed(f"cus_timeout_{uuid.uuid4().hex[:8]}")  # soft, due at once, where it is midday
    case_id = event["payment_id"]

    def case() -> Case | None:
        found = list(state_reader.values(connection, names.PAYMENT_RETRY, f"case:{case_id}"))
        return Case.model_validate_json(found[0][1]) if found else None

    def in_status(status: str) -> Case | None:
        current = case()
        return current if current is not None and current.status == status else None

    send(stack, event)
    flight = eventually(lambda: in_status("retrying"), "the first retry's charge in flight", timeout=60)
    assert [attempt.outcome for attempt in flight.attempts] == ["pending"]
    paid = {"type": "payment.succeeded", "version": 1, "event_id": f"evt_flight_{case_id}",
            "payment_id": case_id, "succeeded_at": datetime.now(UTC).isoformat()}  # fmt: skip
    send(stack, paid)

    def ledger() -> list[dict[str, Any]]:
        return [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id]

    def reviews() -> list[dict[str, Any]]:
        return [m for m in queued(stack, "subscription-actions") if m.get("case_id") == case_id]

    def settled() -> Case | None:  # the outcome's writer holds its claim until it has sent what it owes
        current = in_status("double_collected")
        return current if current is not None and current.claim is None and not current.outbox else None

    final = eventually(settled, "the case double_collected, its outbox sent and its claim released")
    [review] = eventually(reviews, "the refund review on subscription-actions")
    [charge] = ledger()
    assert (charge["key"], charge["status"], charge["outcome"]) == (f"{case_id}:1", 200, "timeout")
    assert final.held is None
    assert final.claim is None
    [attempt] = final.attempts
    assert (attempt.outcome, attempt.charge_id) == ("succeeded", charge["charge"])
    notes = [note.what for note in final.timeline]
    assert "paid elsewhere" in notes  # closed while the charge was out, not recovered first
    assert "recovered" not in notes
    assert notes[-2:] == ["double collected", LAST_EMAIL]  # the close's event names the email before it
    assert (review["version"], review["action"], review["action_id"]) == (
        2,
        "refund_review",
        f"{case_id}:refund_review",
    )
    refund = review["double_collection"]
    assert (refund["payment_id"], refund["amount"], refund["currency"]) == (case_id, 4200, "USD")
    assert (refund["charge_id"], refund["charge_key"]) == (charge["charge"], charge["key"])
    assert refund["other_event_id"] == paid["event_id"]
    assert not [m for m in queued(stack, "receipt-requests") if m.get("payment_id") == case_id]
    assert "recovered" not in [
        m["template"] for m in queued(stack, "email-requests") if m["data"].get("case_id") == case_id
    ]
    assert cli.main(["cases", "--status", "double_collected", "--state-url", connection]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if case_id in line]
    assert "double_collected" in row
    assert "DOUBLE COLLECTED" in row
    time.sleep(3)  # three more ticks on both replicas: no second charge, no second message
    assert len(ledger()) == 1
    assert len(reviews()) == 1
