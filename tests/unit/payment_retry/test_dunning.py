"""The dunning engine end to end over fakes of the state store and queues, and the real processor sandbox."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bindings.ports import StateItem
from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common import names
from functions.common.payments import ChargeOrder
from functions.common.stripe_gateway import StripeGateway
from functions.payment_retry.cases import SHARDS, CaseStore
from functions.payment_retry.dunning import OUTBOUND, RETRY_AFTER_ERROR, Dunning
from functions.payment_retry.model import Case, PaymentFailed, PaymentMethodUpdated, PaymentSucceeded
from functions.payment_retry.tick import READ_AHEAD, run_tick
from tooling.sandboxes.processor import RunningSandbox, start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass
class World:
    """One state store, one sandbox, the queues, and a replica factory."""

    state: MemoryStateStore
    sandbox: RunningSandbox
    ledger_path: Path
    queues: dict[str, MemoryQueue]

    def replica(self, owner: str = "r1", gateway: Any = None) -> Dunning:
        """A Dunning engine as one replica would run it."""
        return Dunning(
            cases=CaseStore(self.state),
            gateway=gateway or StripeGateway(SandboxTransport(self.sandbox.port)),
            queues=self.queues,
            owner=owner,
        )

    def case(self, case_id: str) -> Case:
        """The stored case."""
        case, _ = CaseStore(self.state).get(case_id)
        assert case is not None
        return case

    def ledger(self) -> list[dict[str, Any]]:
        """The sandbox's charges."""
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines() if line]

    def emails(self) -> list[tuple[str, str]]:
        """(template, request id) of every email request sent."""
        return [(m.template, m.request_id) for m in self.queues[names.EMAIL_REQUESTS_OUT].sent]  # type: ignore[attr-defined]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A fresh world with a sandbox whose timeouts stall briefly."""
    ledger = tmp_path / "ledger.jsonl"
    sandbox = start_sandbox(ledger, timeout_seconds=0.5)
    yield World(MemoryStateStore(), sandbox, ledger, {name: MemoryQueue(name) for name in OUTBOUND})
    sandbox.shutdown()


def failed(customer: str, *, at: datetime = NOON, payment: str | None = None, code: str = "card_declined",
           decline_code: str | None = "insufficient_funds", tz: str = "UTC") -> PaymentFailed:  # fmt: skip
    """A payment.failed event."""
    payment = payment or f"pay_{customer}"
    return PaymentFailed.model_validate({
        "type": "payment.failed", "event_id": f"evt_{payment}", "payment_id": payment,
        "customer_id": customer,
        "subscription_id": f"sub_{customer}", "email": f"{customer}@example.com",
        "amount": 1999, "currency": "eur", "timezone": tz, "failed_at": at.isoformat(),
        "decline": {"code": code, "decline_code": decline_code},
    })  # fmt: skip


def tick(dunning: Dunning, now: datetime) -> None:
    """One tick with a generous budget."""
    report = run_tick(dunning, now, budget=timedelta(seconds=30))
    assert report.errors == 0, report.failures


def test_a_failure_opens_a_case_and_sends_the_first_notice(world: World) -> None:
    """The case is open with attempt 1 a day later, and the payment_failed email goes out at once."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_ok_1"), NOON)
    case = world.case("pay_cus_ok_1")
    assert (case.status, case.policy, case.policy_version, case.attempts) == ("open", "default", 3, ())
    assert case.next_charge_at == NOON + timedelta(days=1)
    assert world.emails() == [("payment_failed", "pay_cus_ok_1:payment_failed:0")]
    assert case.outbox == ()
    assert not world.ledger()


def test_a_duplicate_failure_event_changes_nothing(world: World) -> None:
    """Redelivery of payment.failed neither reopens the case nor mails again."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_ok_1"), NOON)
    before = world.case("pay_cus_ok_1")
    dunning.on_failed(failed("cus_ok_1"), NOON + timedelta(minutes=3))
    assert world.case("pay_cus_ok_1") == before
    assert len(world.emails()) == 1


def test_a_due_retry_that_succeeds_recovers_the_case_with_receipt_and_email(world: World) -> None:
    """Tick at the retry time: one charge with key case:1, then receipt and recovered email requests."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_ok_1"), NOON)
    tick(dunning, NOON + timedelta(hours=12))
    assert not world.ledger()
    tick(dunning, NOON + timedelta(days=1, seconds=5))
    case = world.case("pay_cus_ok_1")
    assert case.status == "recovered"
    assert [(a.number, a.key, a.outcome) for a in case.attempts] == [(1, "pay_cus_ok_1:1", "succeeded")]
    assert [line["key"] for line in world.ledger()] == ["pay_cus_ok_1:1"]
    [receipt] = world.queues[names.RECEIPT_REQUESTS_OUT].sent
    assert receipt.model_dump()["amount"] == 1999
    assert world.emails()[-1] == ("recovered", "pay_cus_ok_1:recovered:1")
    assert case.claim is None


def test_soft_declines_climb_the_ladder_then_give_up_at_the_deadline(world: World) -> None:
    """Four declined retries send the ladder's emails; the deadline sends the final action and email."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_soft_1"), NOON)
    for day in (1, 3, 5, 7, 10):
        tick(dunning, NOON + timedelta(days=day, seconds=5))
    case = world.case("pay_cus_soft_1")
    assert case.status == "abandoned"
    assert [line["key"] for line in world.ledger()] == [f"pay_cus_soft_1:{n}" for n in (1, 2, 3, 4)]
    assert [template for template, _ in world.emails()] == [
        "payment_failed", "reminder", "update_card", "update_card", "final_notice", "canceled",
    ]  # fmt: skip
    [action] = world.queues[names.SUBSCRIPTION_ACTIONS_OUT].sent
    assert action.model_dump()["action"] == "cancel"


def test_a_hard_decline_waits_for_a_new_payment_method_then_retries_at_once(world: World) -> None:
    """No charge on the schedule after expired_card; payment_method.updated triggers one right away."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_ok_2", code="expired_card", decline_code=None), NOON)
    tick(dunning, NOON + timedelta(days=2))
    assert not world.ledger()
    assert world.case("pay_cus_ok_2").waiting_for_update
    update = PaymentMethodUpdated(type="payment_method.updated", event_id="evt_pm", customer_id="cus_ok_2",
                                  updated_at=NOON + timedelta(days=2, hours=1))  # fmt: skip
    dunning.on_method_updated(update, NOON + timedelta(days=2, hours=1))
    tick(dunning, NOON + timedelta(days=2, hours=1, seconds=10))
    assert world.case("pay_cus_ok_2").status == "recovered"
    assert len(world.ledger()) == 1


def test_a_processor_error_retries_the_same_attempt_with_the_same_key(world: World) -> None:
    """A 500 leaves attempt 1 pending; the retry five minutes later uses key case:1 again."""
    script = json.dumps({"customer": "cus_x", "outcomes": ["5xx", "ok"]}).encode()
    url = f"http://127.0.0.1:{world.sandbox.port}/v1/script"
    urllib.request.urlopen(urllib.request.Request(url, data=script, method="POST")).close()
    dunning = world.replica()
    dunning.on_failed(failed("cus_x"), NOON)
    first = NOON + timedelta(days=1, seconds=5)
    tick(dunning, first)
    case = world.case("pay_cus_x")
    assert [(a.key, a.outcome) for a in case.attempts] == [("pay_cus_x:1", "pending")]
    assert case.next_charge_at == first + RETRY_AFTER_ERROR
    tick(dunning, first + RETRY_AFTER_ERROR + timedelta(seconds=1))
    assert world.case("pay_cus_x").status == "recovered"
    assert [line["key"] for line in world.ledger()] == ["pay_cus_x:1"]


class _Crash(BaseException):
    """The replica dies mid-charge (not an Exception, so nothing catches it)."""


class _CrashAfterCharging:
    def __init__(self, inner: StripeGateway) -> None:
        self.inner = inner

    def charge(self, order: ChargeOrder) -> Any:
        self.inner.charge(order)
        raise _Crash


def test_a_crashed_replica_s_charge_is_taken_over_after_its_lease_and_replayed(world: World) -> None:
    """Replica A charges then dies; B waits out the lease, charges with the same key: one ledger line."""
    a = world.replica("a", gateway=_CrashAfterCharging(StripeGateway(SandboxTransport(world.sandbox.port))))
    b = world.replica("b")
    a.on_failed(failed("cus_ok_3"), NOON)
    due = NOON + timedelta(days=1, seconds=5)
    with pytest.raises(_Crash):
        tick(a, due)
    tick(b, due + timedelta(seconds=30))
    assert world.case("pay_cus_ok_3").status == "retrying"
    tick(b, due + b.lease + timedelta(seconds=1))
    case = world.case("pay_cus_ok_3")
    assert case.status == "recovered"
    assert [line["key"] for line in world.ledger()] == ["pay_cus_ok_3:1"]
    assert [template for template, _ in world.emails()].count("recovered") == 1


def test_a_paid_elsewhere_event_stops_the_retries(world: World) -> None:
    """payment.succeeded cancels the case: no charge at the retry time."""
    dunning = world.replica()
    dunning.on_failed(failed("cus_ok_4"), NOON)
    paid = PaymentSucceeded(type="payment.succeeded", event_id="evt_s", payment_id="pay_cus_ok_4",
                            succeeded_at=NOON + timedelta(hours=1))  # fmt: skip
    dunning.on_succeeded(paid, NOON + timedelta(hours=1))
    tick(dunning, NOON + timedelta(days=1, seconds=5))
    assert world.case("pay_cus_ok_4").status == "canceled"
    assert not world.ledger()


def test_notices_due_in_quiet_hours_wait_for_the_morning(world: World) -> None:
    """A failure at 23:00 in Paris mails at 08:00 Paris time, through the tick."""
    dunning = world.replica()
    at = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    dunning.on_failed(failed("cus_ok_5", at=at, tz="Europe/Paris"), at)
    assert world.emails() == []
    tick(dunning, datetime(2026, 3, 3, 6, 59, tzinfo=UTC))
    assert world.emails() == []
    tick(dunning, datetime(2026, 3, 3, 7, 0, 30, tzinfo=UTC))
    assert [template for template, _ in world.emails()] == ["payment_failed"]


def test_a_tick_catches_up_minutes_missed_while_no_replica_ran(world: World) -> None:
    """Cases due over an hour of downtime are all charged by the next tick, and the cursor moves on."""
    dunning = world.replica()
    for index in range(5):
        dunning.on_failed(failed(f"cus_ok_c{index}", at=NOON + timedelta(minutes=10 * index)), NOON)
    now = NOON + timedelta(days=1, hours=2)
    report = run_tick(dunning, now, budget=timedelta(seconds=30))
    assert report.settled >= 5
    assert len(world.ledger()) == 5
    assert report.cursor is not None
    assert report.cursor >= now - timedelta(minutes=3)


class CountingStore(MemoryStateStore):
    """A memory store that counts the calls a tick makes, as the sidecar would receive them."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.read: Counter[str] = Counter()

    def get_many(self, keys: Sequence[str]) -> list[StateItem]:
        """Counted."""
        self.calls["get_many"] += 1
        self.read.update(keys)
        return super().get_many(keys)

    def get(self, key: str) -> StateItem:
        """Counted."""
        self.calls["get"] += 1
        return super().get(key)

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Counted."""
        self.calls["delete"] += 1
        super().delete(key, etag=etag)


def test_a_catch_up_reads_each_minute_once_and_deletes_only_index_keys_it_read(world: World) -> None:
    """Two days of minutes: one bulk read an hour; deletes only of keys that held ids, which are then gone."""
    world.state = CountingStore()
    dunning = world.replica()
    for index in range(3):
        dunning.on_failed(failed(f"cus_ok_q{index}", at=NOON + timedelta(minutes=index)), NOON)
    indexed = world.state.keys("due:")
    assert indexed
    world.state.calls.clear()
    now = NOON + timedelta(days=2)
    report = run_tick(dunning, now, budget=timedelta(seconds=30))
    assert report.errors == 0, report.failures
    assert report.minutes > 2 * 24 * 60
    assert world.state.calls["get_many"] == -(-report.minutes // READ_AHEAD) == 49
    assert len(world.state.read) == report.minutes * SHARDS  # every shard of every minute,
    assert set(world.state.read.values()) == {1}  # each read once
    assert not [key for key in indexed if world.state.get(key).value]  # settled minutes' entries deleted
    assert 0 < world.state.calls["delete"] < 60  # one a key that held ids, not 8 a minute (23,040)


def test_emails_to_suppressed_addresses_are_skipped_and_noted(world: World) -> None:
    """A suppressed address gets no email request; the case notes the skip and still charges."""
    dunning = Dunning(
        cases=CaseStore(world.state),
        gateway=StripeGateway(SandboxTransport(world.sandbox.port)),
        queues=world.queues,
        owner="r1",
        suppressed={"cus_ok_9@example.com"},
    )
    dunning.on_failed(failed("cus_ok_9"), NOON)
    tick(dunning, NOON + timedelta(days=1))
    case = world.case("pay_cus_ok_9")
    assert case.status == "recovered"
    assert world.emails() == []
    assert [e.detail for e in case.timeline if e.what == "email skipped"] == [
        "pay_cus_ok_9:payment_failed:0: suppressed",
        "pay_cus_ok_9:recovered:1: suppressed",
    ]
    assert [m.payment_id for m in world.queues[names.RECEIPT_REQUESTS_OUT].sent] == ["pay_cus_ok_9"]  # type: ignore[attr-defined]
