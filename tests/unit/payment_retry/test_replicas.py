"""Three replicas ticking at once over the same due cases: one charge per (case, attempt), none missed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common import domain_events, names
from functions.common.stripe_gateway import StripeGateway
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import OUTBOUND, Dunning
from functions.payment_retry.tick import run_tick
from tests.unit.payment_retry.test_dunning import NOON, failed
from tooling.sandboxes.processor import start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport

CASES = 300


def test_three_concurrent_replicas_charge_each_attempt_exactly_once(tmp_path: Path) -> None:
    """150 cases recover on attempt 1 and 150 on attempt 3, with three replicas receiving every tick."""
    ledger_path = tmp_path / "ledger.jsonl"
    sandbox = start_sandbox(ledger_path)
    state = MemoryStateStore()
    queues = {name: MemoryQueue(name) for name in OUTBOUND}
    replicas = [
        Dunning(
            cases=CaseStore(state),
            gateway=StripeGateway(SandboxTransport(sandbox.port)),
            queues=queues,
            owner=f"r{n}",
        )
        for n in range(3)
    ]
    try:
        for index in range(CASES):
            customer = f"cus_ok_{index}" if index % 2 else f"cus_recover2_{index}"
            replicas[index % 3].on_failed(failed(customer), NOON)
        for day in (1, 3, 5):
            now = NOON + timedelta(days=day, seconds=5)
            start = threading.Barrier(len(replicas))
            errors: list[str] = []

            def run(replica: Dunning, now: object = now, start: threading.Barrier = start,
                    errors: list[str] = errors) -> None:  # fmt: skip
                start.wait()
                report = run_tick(replica, now, budget=timedelta(seconds=60))  # type: ignore[arg-type]
                errors.extend(report.failures)

            threads = [threading.Thread(target=run, args=(replica,)) for replica in replicas]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors
    finally:
        sandbox.shutdown()
    lines = [line for line in ledger_path.read_text().splitlines() if line]
    keys = Counter(line.split('"key":')[1].split('"')[1] for line in lines)
    assert all(count == 1 for count in keys.values())
    per_case = Counter(key.rsplit(":", 1)[0] for key in keys)
    expected = {
        f"pay_{'cus_ok_' if i % 2 else 'cus_recover2_'}{i}": (1 if i % 2 else 3) for i in range(CASES)
    }
    assert dict(per_case) == expected
    store = CaseStore(state)
    assert all(store.get(case_id)[0].status == "recovered" for case_id in expected)  # type: ignore[union-attr]
    emails = Counter(message.request_id for message in queues[names.EMAIL_REQUESTS_OUT].sent)  # type: ignore[attr-defined]
    assert all(count == 1 for count in emails.values()), [k for k, v in emails.items() if v > 1][:5]
    assert len(queues[names.RECEIPT_REQUESTS_OUT].sent) == CASES
    events = queues[domain_events.DUNNING_QUEUE].sent
    assert len({event.event_id for event in events}) == len(events)  # type: ignore[attr-defined]
    kinds = Counter(event.type for event in events)  # type: ignore[attr-defined]
    assert kinds == {"case.opened": CASES, "attempt.charged": 2 * CASES, "case.recovered": CASES}
