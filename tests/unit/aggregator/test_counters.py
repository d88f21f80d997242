"""The aggregator counts each domain event once, under redelivery and concurrent replicas."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from bindings.errors import ConflictError, TransientError
from bindings.testing import ContendedStateStore, MemoryStateStore
from functions.aggregator import counters, tallies
from functions.common import aggregates
from functions.common.aggregates import Tally
from functions.common.domain_events import DunningEvent, dunning_event_id

DAY = date(2026, 12, 6)
NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)


def dunning(kind: str, case_id: str = "pay_1", *, amount: int = 1999, **more: object) -> DunningEvent:
    """A dunning event of `kind` for `case_id`, at noon, in EUR (version 1 unless `more` says otherwise)."""
    attempt = more.get("attempt")
    return DunningEvent.model_validate({
        "version": 1, "type": kind, "event_id": dunning_event_id(kind, case_id, attempt),  # type: ignore[arg-type]
        "case_id": case_id, "customer_id": "cus_1", "occurred_at": NOON.isoformat(), "amount": amount,
        "currency": "EUR", **more,
    })  # fmt: skip


def count(store: MemoryStateStore, event: DunningEvent) -> bool:
    """Count `event` as the aggregator's handler does."""
    day = event.occurred_at.astimezone(UTC).date()
    dimensions, moves = tallies.dunning_dimensions(event), tallies.dunning_moves(event)
    return counters.count(store, "dunning", day, event.event_id, dimensions, moves=moves)


def test_each_effect_adds_its_count_and_amount_under_its_dimensions() -> None:
    """Opened, a soft decline (with its code), a paid attempt and the recovery: each under its dimensions."""
    store = MemoryStateStore()
    events = [
        dunning("case.opened"),
        dunning(
            "attempt.charged",
            attempt=1,
            outcome="declined",
            decline_class="soft",
            decline_code="insufficient_funds",
        ),
        dunning("attempt.charged", attempt=2, outcome="paid"),
        dunning("case.recovered"),
        dunning("case.opened", "pay_2", amount=500),
    ]
    assert [count(store, event) for event in events] == [True] * 5
    assert aggregates.totals(store, "dunning", DAY) == {
        "EUR/opened": Tally(count=2, amount=2499),
        "EUR/charged.declined": Tally(count=1, amount=1999),
        "EUR/declined.soft": Tally(count=1, amount=1999),
        "EUR/code.insufficient_funds": Tally(count=1, amount=1999),
        "EUR/charged.paid": Tally(count=1, amount=1999),
        "EUR/recovered": Tally(count=1, amount=1999),
    }


@pytest.mark.parametrize(
    ("code", "safe"),
    [
        ("insufficient_funds", "insufficient_funds"),
        ("Do Not Honor!", "do_not_honor"),
        ("05/issuer.declined", "05_issuer_declined"),
        ("card-velocity", "card-velocity"),
        ("!!!", "other"),
        ("x" * 200, "x" * tallies.CODE_LIMIT),
    ],
)
def test_a_decline_code_is_counted_in_a_safe_form(code: str, safe: str) -> None:
    """Free text from the processor becomes lower-case letters, digits, `_` and `-`, at most 60 of them."""
    assert tallies.safe_code(code) == safe


def test_a_redelivered_decline_counts_its_class_and_code_once() -> None:
    """A declined attempt published three times: one declined, one class, one code."""
    store = MemoryStateStore()
    event = dunning(
        "attempt.charged", attempt=1, outcome="needs_customer", decline_class="soft",
        decline_code="authentication_required",
    )  # fmt: skip
    assert [count(store, event) for _ in range(3)] == [True, False, False]
    assert aggregates.totals(store, "dunning", DAY) == {
        "EUR/charged.needs_customer": Tally(count=1, amount=1999),
        "EUR/declined.soft": Tally(count=1, amount=1999),
        "EUR/code.authentication_required": Tally(count=1, amount=1999),
    }


def test_a_redelivered_event_is_counted_once() -> None:
    """The same event id again adds nothing and says so."""
    store = MemoryStateStore()
    event = dunning("case.opened")
    assert [count(store, event) for _ in range(3)] == [True, False, False]
    assert aggregates.totals(store, "dunning", DAY) == {"EUR/opened": Tally(count=1, amount=1999)}


def test_days_and_topics_are_counted_apart() -> None:
    """An event is counted under the UTC day it happened; another day or topic reads nothing of it."""
    store = MemoryStateStore()
    late = dunning("case.opened").model_copy(update={"occurred_at": NOON + timedelta(hours=13)})
    assert count(store, late)
    assert aggregates.totals(store, "dunning", DAY) == {}
    assert aggregates.totals(store, "dunning", DAY + timedelta(days=1)) == {
        "EUR/opened": Tally(count=1, amount=1999)
    }
    assert aggregates.totals(store, "email", DAY + timedelta(days=1)) == {}


def test_replicas_counting_the_same_events_at_once_count_each_once() -> None:
    """Two threads handle the same 200 events concurrently: the totals hold each exactly once."""
    store = MemoryStateStore()
    events = [dunning("case.opened", f"pay_{n}", amount=100) for n in range(200)]
    start = threading.Barrier(2)

    def replica() -> None:
        start.wait()
        for event in events:
            count(store, event)

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert aggregates.totals(store, "dunning", DAY) == {"EUR/opened": Tally(count=200, amount=20_000)}


def test_contention_past_the_budget_is_transient_so_the_event_comes_back() -> None:
    """Losing every race raises ConflictError, a TransientError: the event is retried, not dropped."""
    with pytest.raises(ConflictError) as raised:
        count(ContendedStateStore(), dunning("case.opened"))
    assert isinstance(raised.value, TransientError)
