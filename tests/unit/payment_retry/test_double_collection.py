"""A payment collected twice (dunning's charge and another payment) is a case status, a message and a listing.

Three paths: a success arriving while our charge is in flight, a success arriving after our recovery,
and a success after dunning gave up (not a double collection: we collected nothing).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from bindings.errors import PermanentError
from functions.common import names
from functions.common.messages import SubscriptionAction
from functions.common.stripe import StripeAnswer, StripeRequest
from functions.common.subscription_actions import SubscriptionActions, SubscriptionActionV2
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import Case
from functions.payment_retry.publications import LAST_EMAIL
from functions.payment_retry.report import table, timeline
from tests.unit.payment_retry.test_event_order import HARD, SOFT, failed, succeeded
from tests.unit.payment_retry.test_processor_errors import NOON, OK, Processor, World, _error
from tooling import cli

DAY1 = NOON + timedelta(days=1, seconds=5)  # the first retry's tick
LATER = (2, 3, 5, 7, 10, 11)


@dataclass
class InFlight(Processor):
    """A processor that runs `during` once it has taken a charge and before its answer is back."""

    during: list[Callable[[], None]] = field(default_factory=list)

    def send(self, request: StripeRequest) -> StripeAnswer:
        """Run what happens meanwhile, then answer."""
        while self.during:
            self.during.pop(0)()
        return super().send(request)


def _in_flight(answers: list[StripeAnswer]) -> World:
    """Case pay_1 opened; its first retry's charge meets a payment.succeeded while in flight."""
    processor = InFlight(answers)
    world = World(processor)
    processor.during.append(lambda: handle_event(world.dunning, succeeded(), DAY1))
    handle_event(world.dunning, failed(SOFT), NOON)
    world.tick(DAY1)
    return world


def _redeliver_and_tick(world: World) -> None:
    """The success again (twice, acknowledged), then every later tick."""
    for day in (2, 3):
        handle_event(world.dunning, succeeded(), NOON + timedelta(days=day))
    for day in LATER:
        world.tick(NOON + timedelta(days=day, seconds=5))


def _refunds(world: World) -> list[SubscriptionActionV2]:
    return [m for m in world.sent(names.SUBSCRIPTION_ACTIONS_OUT) if m.action == "refund_review"]


def _check_refund(world: World, succeeded_at: str) -> SubscriptionActionV2:
    [action] = world.sent(names.SUBSCRIPTION_ACTIONS_OUT)
    assert isinstance(action, SubscriptionActionV2)
    assert (action.version, action.action, action.case_id, action.subscription_id) == (
        2, "refund_review", "pay_1", "sub_1"
    )  # fmt: skip
    refund = action.double_collection
    assert refund is not None
    assert (refund.payment_id, refund.amount, refund.currency) == ("pay_1", 1999, "EUR")
    assert (refund.charge_id, refund.charge_key, refund.other_event_id) == ("pi_1", "pay_1:1", "evt_s1")
    assert refund.other_succeeded_at.isoformat() == succeeded_at
    return action


def test_a_success_while_our_charge_is_in_flight_ends_double_collected() -> None:
    """Path (a): our charge is paid after the success closed the case: double_collected, one refund review."""
    world = _in_flight([OK])
    case = world.case()
    assert (case.status, [a.outcome for a in case.attempts], case.held) == (
        "double_collected",
        ["succeeded"],
        None,
    )
    assert [event.what for event in case.timeline][-3:] == ["paid elsewhere", "double collected", LAST_EMAIL]
    _check_refund(world, "2026-03-02T12:00:30+00:00")
    assert world.sent(names.RECEIPT_REQUESTS_OUT) == []
    _redeliver_and_tick(world)
    assert len(_refunds(world)) == 1
    assert world.processor.keys == ["pay_1:1"]
    assert world.case().status == "double_collected"


def test_a_success_while_our_charge_is_in_flight_and_declined_is_plain_paid_elsewhere() -> None:
    """Path (a), declined: we collected nothing, so the case is canceled, not flagged, nothing owed."""
    decline = _error(402, "card_error", "card_declined", decline_code="insufficient_funds")
    world = _in_flight([decline])
    case = world.case()
    assert (case.status, [a.outcome for a in case.attempts], case.held) == ("canceled", ["declined"], None)
    _redeliver_and_tick(world)
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []
    assert world.processor.keys == ["pay_1:1"]


def test_a_success_while_our_charge_is_in_flight_and_unanswered_holds_the_closed_case() -> None:
    """Path (a), answer lost (503): maybe charged; the case stays closed and held, never charged again."""
    world = _in_flight([StripeAnswer(503, b"{}"), OK])
    case = world.case()
    assert (case.status, [a.outcome for a in case.attempts]) == ("canceled", ["pending"])
    assert case.held is not None
    assert "pay_1:1" in case.held
    _redeliver_and_tick(world)
    assert world.processor.keys == ["pay_1:1"]
    assert world.case().status == "canceled"
    assert "held for an operator" in table([world.case()])


@pytest.mark.parametrize(
    "after",
    [timedelta(seconds=30), timedelta(days=1, hours=1)],
    ids=["before-our-charge", "after-our-charge"],
)
def test_a_success_after_our_recovery_is_double_collected_and_acknowledged(after: timedelta) -> None:
    """Path (b): any outside success after we collected: double_collected, one refund review, acked."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    world.tick(DAY1)
    for day in (2, 2, 3):
        handle_event(world.dunning, succeeded(after=after), NOON + timedelta(days=day))
    for day in LATER:
        world.tick(NOON + timedelta(days=day, seconds=5))
    case = world.case()
    assert case.status == "double_collected"
    assert [event.what for event in case.timeline].count("double collected") == 1
    _check_refund(world, (NOON + after).isoformat())
    assert len(world.sent(names.RECEIPT_REQUESTS_OUT)) == 1  # our charge was receipted when it was paid
    assert world.processor.keys == ["pay_1:1"]


def test_a_success_after_dunning_gave_up_is_not_a_double_collection() -> None:
    """Path (c): we collected nothing; the case stays abandoned, dead-lettered, marked in the table."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(HARD), NOON)
    for day in (1, *LATER):
        world.tick(NOON + timedelta(days=day, seconds=5))
    for _ in range(2):
        with pytest.raises(PermanentError, match="paid after dunning gave up"):
            handle_event(world.dunning, succeeded(), NOON + timedelta(days=12))
    case = world.case()
    assert case.status == "abandoned"
    assert [m.action for m in world.sent(names.SUBSCRIPTION_ACTIONS_OUT)] == ["cancel"]
    assert "paid after dunning gave up" in table([case]).splitlines()[1]


def test_the_table_marks_a_double_collection_and_the_timeline_names_both_payments() -> None:
    """The default listing shows the status and what to refund; the timeline names both payments."""
    world = _in_flight([OK])
    case = world.case()
    row = table([case]).splitlines()[1]
    assert row.split()[:2] == ["pay_1", "double_collected"]
    assert "DOUBLE COLLECTED" in row
    assert "pi_1" in row
    assert "evt_s1" in row
    text = timeline(case)
    assert "case pay_1: double_collected" in text
    assert "pi_1" in text
    assert "evt_s1" in text


def _case(world: World, case_id: str) -> Case:
    case, _ = CaseStore(world.state).get(case_id)
    assert case is not None
    return case


def _state_db(root: Path, cases: list[Case]) -> None:
    (root / "state").mkdir()
    with sqlite3.connect(root / "state" / "state.db") as db:
        db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT, is_binary INTEGER)")
        for case in cases:
            db.execute(
                "INSERT INTO state VALUES (?, ?, 0)",
                (f"payment-retry||case:{case.case_id}", case.model_dump_json()),
            )


def test_bindery_cases_lists_double_collected_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bindery cases --status double_collected` lists only them; the default listing marks them."""
    flagged = _in_flight([OK]).case()
    plain = World(Processor([OK]))
    handle_event(plain.dunning, failed(SOFT).model_copy(update={"payment_id": "pay_2"}), NOON)
    _state_db(tmp_path, [flagged, _case(plain, "pay_2")])
    monkeypatch.setattr(cli, "var_dir", lambda: tmp_path)
    monkeypatch.delenv("BINDERY_STATE_URL", raising=False)
    assert cli.main(["cases", "--status", "double_collected"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[:2] for row in rows] == [["pay_1", "double_collected"]]
    assert cli.main(["cases"]) == 0
    listing = capsys.readouterr().out
    assert "DOUBLE COLLECTED" in listing
    assert "pay_2" in listing


def test_every_subscription_action_version_in_flight_stays_readable() -> None:
    """Version 1 final actions still read; version 2 needs the double collection for a refund review."""
    v1: dict[str, Any] = {"version": 1, "action_id": "pay_1:final", "subscription_id": "sub_1",
                          "case_id": "pay_1", "action": "cancel", "decided_at": NOON.isoformat()}  # fmt: skip
    readable = TypeAdapter(SubscriptionActions)
    assert isinstance(readable.validate_python(v1), SubscriptionAction)
    outbox = {"queue": names.SUBSCRIPTION_ACTIONS_OUT, "key": "pay_1:final", "message": v1,
              "due_at": NOON.isoformat()}  # fmt: skip
    world = _in_flight([OK])
    stored = json.loads(world.case().model_dump_json())
    assert isinstance(
        Case.model_validate(stored | {"outbox": [outbox]}).outbox[0].message, SubscriptionAction
    )
    action = _refunds(world)[0]
    assert readable.validate_json(action.model_dump_json()) == action
    owed = outbox | {"key": action.action_id, "message": action.model_dump(mode="json")}
    assert Case.model_validate_json(json.dumps(stored | {"outbox": [owed]})).outbox[0].message == action
    with pytest.raises(ValueError, match="double_collection"):
        SubscriptionActionV2.model_validate({**v1, "version": 2, "action": "refund_review"})
