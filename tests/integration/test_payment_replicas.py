"""Three payment-retry replicas, each with its own daprd, sharing PostgreSQL and all receiving every tick."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from functions.common import names
from tests.integration.helpers import postgres_components, read_jsonl
from tooling import postgres
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually

FIRST_BATCH, SECOND_BATCH = 510, 300


@pytest.fixture(scope="module")
def replicas(
    stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, list[str]]]:
    """components/local with PostgreSQL as the state store, and three payment-retry replicas."""
    folder = tmp_path_factory.mktemp("pg-components")
    server = postgres.start(folder / "postgres.log")
    try:
        postgres_components(folder, server.connection_string)
        stack = stack_factory(apps=[], components=folder, values={"RETRY_TICK_SCHEDULE": "@every 1s"})
        env = {"RETRY_TICK_BUDGET_SECONDS": "0.8", "RETRY_LEASE_SECONDS": "5"}
        instances = [f"r{n}" for n in range(3)]
        for instance in instances:
            stack.start_app(
                AppSpec(names.PAYMENT_RETRY, "functions.payment_retry.app", env=env, instance=instance)
            )
        yield stack, [f"{names.PAYMENT_RETRY}-{instance}" for instance in instances]
    finally:
        stack.stop() if "stack" in locals() else None
        server.stop()


def seed(stack: Stack, count: int, due_in: timedelta) -> set[str]:
    """Enqueue `count` payment failures whose first retry falls `due_in` from now; return their case ids."""
    failed_at = datetime.now(UTC) - timedelta(days=1) + due_in
    queue = stack.queue_service().get_queue_client(names.PAYMENT_EVENTS)
    batch = uuid.uuid4().hex[:6]
    ids = set()
    for index in range(count):
        payment = f"pay_{batch}_{index}"
        ids.add(payment)
        queue.send_message(json.dumps({
            "type": "payment.failed", "version": 1, "event_id": f"evt_{payment}", "payment_id": payment,
            "customer_id": f"cus_ok_{batch}_{index}", "subscription_id": f"sub_{payment}",
            "email": f"{payment}@example.com", "amount": 1000 + index, "currency": "EUR",
            "failed_at": failed_at.isoformat(), "decline": {"code": "insufficient_funds"},
        }))  # fmt: skip
    return ids


def charges(stack: Stack, ids: set[str]) -> Counter[str]:
    """How many ledger lines each idempotency key of `ids` has."""
    return Counter(line["key"] for line in read_jsonl(stack.ledger) if line["case_id"] in ids)


def test_every_due_case_is_charged_exactly_once_by_three_replicas(replicas: tuple[Stack, list[str]]) -> None:
    """510 cases due within a minute: one charge per case and attempt in the ledger, then a receipt each."""
    stack, _ = replicas
    ids = seed(stack, FIRST_BATCH, due_in=timedelta(seconds=40))
    eventually(lambda: sum(charges(stack, ids).values()) >= FIRST_BATCH, "every case charged", timeout=240)
    counted = charges(stack, ids)
    assert set(counted) == {f"{case_id}:1" for case_id in ids}
    assert set(counted.values()) == {1}
    # a case's receipt request leaves its outbox after the charge is in the ledger: it follows, not precedes
    receipts = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    eventually(
        lambda: (receipts.get_queue_properties().approximate_message_count or 0) >= FIRST_BATCH,
        "a receipt request for every charged case",
        timeout=60,
    )


def test_a_replica_killed_mid_tick_loses_nothing_and_doubles_nothing(
    replicas: tuple[Stack, list[str]],
) -> None:
    """Kill -9 one replica while it charges; the others take its leases over: each case charged once."""
    stack, names_ = replicas
    ids = seed(stack, SECOND_BATCH, due_in=timedelta(seconds=25))
    eventually(lambda: sum(charges(stack, ids).values()) >= 30, "charging to be under way", timeout=120)
    victim = stack.apps[names_[0]]
    os.kill(victim.app.popen.pid, signal.SIGKILL)
    victim.app.popen.wait(10)
    eventually(lambda: sum(charges(stack, ids).values()) >= SECOND_BATCH, "every case charged", timeout=240)
    counted = charges(stack, ids)
    assert set(counted) == {f"{case_id}:1" for case_id in ids}
    assert set(counted.values()) == {1}
