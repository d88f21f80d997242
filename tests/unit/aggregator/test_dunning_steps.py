"""Version 2 dunning events: closes by step, recoveries by email step and hours, gauges of open cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bindings.testing import MemoryStateStore
from functions.aggregator import counters, tallies
from functions.common import aggregates
from functions.common.aggregates import Level, Tally
from functions.common.domain_events import DunningEvent, dunning_event_id

NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)
FAILED = NOON - timedelta(days=2, hours=5, minutes=59)


def event(kind: str, case_id: str, *, step: int | None, amount: int = 1000, **more: object) -> DunningEvent:
    """A version 2 dunning event of `case_id` at noon, in EUR, failed 2 days 5 h 59 min before."""
    attempt = more.get("attempt")
    return DunningEvent.model_validate({
        "type": kind, "event_id": dunning_event_id(kind, case_id, attempt),  # type: ignore[arg-type]
        "case_id": case_id, "customer_id": "cus_1", "occurred_at": NOON, "amount": amount,
        "currency": "EUR", "failed_at": FAILED, "step": step, **more,
    })  # fmt: skip


def declined(case_id: str, attempt: int, step: int, amount: int = 1000) -> DunningEvent:
    """A declined charge of `case_id`, its `step`-th answered one."""
    return event("attempt.charged", case_id, step=step, amount=amount, attempt=attempt, outcome="declined",
                 decline_class="soft", decline_code="insufficient_funds")  # fmt: skip


def paid(case_id: str, attempt: int, step: int, amount: int = 1000) -> DunningEvent:
    """A paid charge of `case_id`, its `step`-th answered one."""
    return event("attempt.charged", case_id, step=step, amount=amount, attempt=attempt, outcome="paid")


def count(store: MemoryStateStore, dunning: DunningEvent) -> bool:
    """Count `dunning` as the aggregator's handler does."""
    dimensions, moves = tallies.dunning_dimensions(dunning), tallies.dunning_moves(dunning)
    day = dunning.occurred_at.astimezone(UTC).date()
    return counters.count(store, "dunning", day, dunning.event_id, dimensions, moves=moves)


def open_levels(store: MemoryStateStore) -> dict[str, Level]:
    """The gauges of the dunning topic that are not zero."""
    return {
        name: level
        for name, level in aggregates.levels(store, "dunning").items()
        if level != Level(count=0, amount=0)
    }


def test_a_recovery_counts_its_step_its_email_step_and_its_whole_hours() -> None:
    """Recovered at step 2 after a reminder, 53 h 59 min after the failure: under step 2, reminder, 53 h."""
    store = MemoryStateStore()
    life = [event("case.opened", "c1", step=0), declined("c1", 1, 1), paid("c1", 2, 2),
            event("case.recovered", "c1", step=2, email_step="reminder")]  # fmt: skip
    assert all(count(store, one) for one in life)
    found = aggregates.totals(store, "dunning", NOON.date())
    assert found["EUR/recovered.step.2"] == Tally(count=1, amount=1000)
    assert found["EUR/recovered.after.reminder"] == Tally(count=1, amount=1000)
    assert found["-/recovered.hours.53"] == Tally(count=1, amount=0)
    assert found["EUR/recovered"] == Tally(count=1, amount=1000)
    assert open_levels(store) == {}


def test_open_cases_are_gauged_at_their_step_and_closes_by_theirs() -> None:
    """Two open cases (steps 0 and 1) are levels; one abandoned at step 1 leaves none, counted by its step."""
    store = MemoryStateStore()
    for one in (
        event("case.opened", "a", step=0, amount=700),
        event("case.opened", "b", step=0),
        declined("b", 1, 1),
        event("case.opened", "c", step=0, amount=300),
        declined("c", 1, 1, amount=300),
        event("case.abandoned", "c", step=1, amount=300),
    ):
        count(store, one)
    assert open_levels(store) == {
        "EUR/open.step.0": Level(count=1, amount=700),
        "EUR/open.step.1": Level(count=1, amount=1000),
    }
    found = aggregates.totals(store, "dunning", NOON.date())
    assert found["EUR/abandoned.step.1"] == Tally(count=1, amount=300)
    assert not any(".after." in name or ".hours." in name for name in found)


def test_a_recovery_with_no_email_before_it_counts_under_none() -> None:
    """No ladder email before the recovery: `recovered.after.none`."""
    store = MemoryStateStore()
    count(store, event("case.recovered", "c1", step=1))
    assert aggregates.totals(store, "dunning", NOON.date())["EUR/recovered.after.none"].count == 1


def test_recovery_hours_are_kept_between_zero_and_the_cap() -> None:
    """A failure stamped after the recovery counts as 0 h; one 60 days before as `HOURS_CAP`."""
    early = event("case.recovered", "c1", step=1, failed_at=NOON + timedelta(minutes=5))
    late = event("case.recovered", "c2", step=1, failed_at=NOON - timedelta(days=60))
    assert "-/recovered.hours.0" in tallies.dunning_dimensions(early)
    assert f"-/recovered.hours.{aggregates.HOURS_CAP}" in tallies.dunning_dimensions(late)


def test_events_without_a_step_move_no_gauge() -> None:
    """A version 1 event, and a version 2 one of a case opened before steps were kept: no gauge moves."""
    old = DunningEvent(type="case.opened", event_id="c1:opened", case_id="c1", customer_id="cus_1",
                       occurred_at=NOON, amount=5, currency="EUR", version=1)  # fmt: skip
    assert tallies.dunning_moves(old) == {}
    assert tallies.dunning_moves(event("case.canceled", "c2", step=None)) == {}
    store = MemoryStateStore()
    count(store, event("case.canceled", "c2", step=None))
    assert store.keys(aggregates.GAUGES_PREFIX) == []
    assert "EUR/canceled" in aggregates.totals(store, "dunning", NOON.date())


@st.composite
def lives(draw: st.DrawFn) -> tuple[list[DunningEvent], dict[str, Level]]:
    """Cases' whole event streams, and the open cases' levels by step they must add up to."""
    events: list[DunningEvent] = []
    expected: dict[str, Level] = {}
    for n in range(draw(st.integers(1, 8))):
        case_id, amount = f"c{n}", draw(st.integers(1, 10_000))
        charges = draw(st.integers(0, 5))
        end = draw(st.sampled_from([None, "case.recovered", "case.abandoned", "case.canceled"]))
        events.append(event("case.opened", case_id, step=0, amount=amount))
        attempt = 0
        for step in range(1, charges + 1):
            attempt += draw(st.integers(1, 2))  # an attempt refused or in doubt has no event: a gap
            last = step == charges and end == "case.recovered"
            events.append((paid if last else declined)(case_id, attempt, step, amount))
        if end is None:
            name = f"EUR/open.step.{charges}"
            expected[name] = expected.get(name, Level(count=0, amount=0)).plus(Level(count=1, amount=amount))
        else:
            events.append(event(end, case_id, step=charges, amount=amount))
    return events, expected


@settings(max_examples=60, deadline=None)
@given(lives(), st.randoms(use_true_random=False), st.lists(st.integers(0, 200), max_size=10))
def test_gauges_add_up_to_the_open_cases_by_step_in_any_order_and_with_repeats(
    drawn: tuple[list[DunningEvent], dict[str, Level]], shuffle: random.Random, again: list[int]
) -> None:
    """Events in any order, some delivered twice: the levels are each open case at its last step."""
    events, expected = drawn
    delivered = events + [events[i % len(events)] for i in again]
    shuffle.shuffle(delivered)
    store = MemoryStateStore()
    for one in delivered:
        count(store, one)
    assert open_levels(store) == expected
