"""`bindery cases release` through the real daprd, Azurite and the card sandbox, judged by the ledger.

A case is held by two conflicting `payment.failed` events; the CLI puts a `case.release` on
`payment-events` and payment-retry takes it in: resumed, the case is charged once when its first retry
is due (not at once); closed, it is never charged.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common import names
from functions.payment_retry.model import Case
from tests.integration.helpers import midday_zone, read_jsonl
from tooling import cli, state_reader
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually

DUE_IN = timedelta(seconds=20)  # the first retry is due this long after the failure is sent


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """payment-retry alone, ticking every second with a budget under that."""
    spec = AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "0.8"}
    )
    return stack_factory(apps=[spec], values={"RETRY_TICK_SCHEDULE": "@every 1s"})


def _case(stack: Stack, case_id: str) -> Case | None:
    database = stack.config.root / "state" / "state.db"
    found = dict(state_reader.values(database, names.PAYMENT_RETRY, f"case:{case_id}"))
    value = found.get(f"case:{case_id}")
    return Case.model_validate_json(value) if value is not None else None


def _charges(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    return [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id and line["status"] == 200]


def _send(stack: Stack, event: dict[str, Any]) -> None:
    stack.queue_service().get_queue_client("payment-events").send_message(json.dumps(event))


def _held(stack: Stack) -> tuple[str, datetime]:
    """A case held by two failures that disagree on the amount; its id and when its first retry is due."""
    now = datetime.now(UTC)
    payment = f"pay_rel_{uuid.uuid4().hex[:8]}"
    first = {
        "type": "payment.failed", "version": 1, "event_id": f"evt_{payment}_1", "payment_id": payment,
        "customer_id": f"cus_ok_{payment}", "subscription_id": f"sub_{payment}",
        "email": f"{payment}@example.com", "amount": 4200, "currency": "usd",
        "timezone": midday_zone(now), "failed_at": (now - timedelta(days=1) + DUE_IN).isoformat(),
        "decline": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }  # fmt: skip
    _send(stack, first)
    eventually(lambda: _case(stack, payment), "the case")
    _send(stack, first | {"event_id": f"evt_{payment}_2", "amount": 5200})
    eventually(lambda: (case := _case(stack, payment)) and case.held, "the hold")
    return payment, now + DUE_IN


def _release(stack: Stack, case_id: str, decision: str) -> Case:
    """Run `bindery cases release` against the stack's Azurite; the case once the release is on it."""
    assert stack.azurite is not None
    argv = ["cases", "release", case_id, "--reason", "billing says 42.00 USD", f"--{decision}",
            "--operator", "ops_it", "--connection-string", stack.azurite.connection_string]  # fmt: skip
    assert cli.main(argv) == 0
    released = f"hold released: {decision}"
    case: Case = eventually(
        lambda: (
            found
            if (found := _case(stack, case_id)) and released in [e.what for e in found.timeline]
            else None
        ),
        "the release on the case",
    )
    return case


def test_a_held_case_released_with_resume_is_charged_once_on_its_schedule(stack: Stack) -> None:
    """Released before its first retry is due: no charge until then, then exactly one, the first amount."""
    case_id, due = _held(stack)
    case = _release(stack, case_id, "resume")
    assert case.held is None
    assert "billing says 42.00 USD" in case.timeline[-1].detail
    if datetime.now(UTC) < due - timedelta(seconds=2):
        assert _charges(stack, case_id) == []
    charges = eventually(lambda: _charges(stack, case_id), "the charge", timeout=60)
    time.sleep(3)  # three more ticks: nothing more is charged
    assert [(c["key"], c["amount"]) for c in _charges(stack, case_id)] == [(f"{case_id}:1", 4200)]
    assert charges[0]["key"] == f"{case_id}:1"
    assert eventually(lambda: (c := _case(stack, case_id)) and c.status == "recovered", "recovered")


def test_a_held_case_released_with_close_is_never_charged(stack: Stack) -> None:
    """Closed by the operator: canceled, and past its retry's due time the ledger has nothing for it."""
    case_id, due = _held(stack)
    case = _release(stack, case_id, "close")
    assert (case.status, case.held) == ("canceled", None)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 3)
    assert _charges(stack, case_id) == []
    closed = _case(stack, case_id)
    assert closed is not None
    assert closed.status == "canceled"
