"""Releasing a held case (`case.release` on payment-events), through the handlers over in-memory ports.

An operator resumes a held case (dunning goes on on its schedule) or closes it (canceled, nothing more
charged or mailed). The release is idempotent under redelivery; releasing a case that is not held, or
unknown, is refused (a dead letter with the reason). `bindery cases release` only builds and queues it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from bindings.errors import PermanentError
from functions.common import names
from functions.common.messages import EmailRequested
from functions.common.stripe import StripeAnswer
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.handlers import handle_event
from functions.payment_retry.model import PaymentEvent, PaymentFailed
from functions.payment_retry.operator_events import CaseRelease
from functions.payment_retry.publications import LAST_EMAIL
from tests.unit.payment_retry.test_event_order import SOFT, failed
from tests.unit.payment_retry.test_processor_errors import NOON, OK, Processor, World
from tooling import cli, release_cli

DAY = timedelta(days=1, seconds=5)  # the first retry's tick
DEADLINE = (timedelta(days=d, seconds=5) for d in (2, 3, 5, 7, 10, 11))


def release(decision: str, *, event_id: str = "rel_1", case_id: str = "pay_1") -> CaseRelease:
    """An operator's case.release for `case_id`."""
    return CaseRelease(type="case.release", event_id=event_id, case_id=case_id, decision=decision,
                       reason="amounts checked with billing", operator="ops_alice",
                       requested_at=NOON + timedelta(minutes=2))  # fmt: skip


def held_by_conflict() -> World:
    """Case pay_1 opened at noon (soft decline, first retry a day later), held by a conflicting failure."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    with pytest.raises(PermanentError, match="conflicts"):
        handle_event(world.dunning, failed(SOFT, event_id="evt_f2", amount=2999), NOON + timedelta(minutes=1))
    assert world.case().held is not None
    return world


def test_a_conflict_held_case_released_with_resume_is_charged_on_its_schedule_not_at_once() -> None:
    """Resume clears the hold: nothing charged before the first retry's time, then the case's amount once."""
    world = held_by_conflict()
    handle_event(world.dunning, release("resume"), NOON + timedelta(minutes=3))
    case = world.case()
    assert (case.held, case.status, case.next_charge_at) == (None, "open", NOON + timedelta(days=1))
    assert (case.timeline[-1].what, case.timeline[-1].event_id) == ("hold released: resume", "rel_1")
    assert "amounts checked with billing" in case.timeline[-1].detail
    assert "ops_alice" in case.timeline[-1].detail
    world.tick(NOON + timedelta(minutes=10))
    assert world.processor.keys == []
    world.tick(NOON + DAY)
    assert world.processor.keys == ["pay_1:1"]
    assert world.case().status == "recovered"
    assert world.templates() == ["payment_failed", "recovered"]


def test_a_conflict_held_case_released_with_close_ends_canceled_without_charge_or_email() -> None:
    """Close ends dunning: canceled, nothing charged through the deadline, no email and no final action."""
    world = held_by_conflict()
    handle_event(world.dunning, release("close"), NOON + timedelta(minutes=3))
    case = world.case()
    assert (case.status, case.held) == ("canceled", None)
    assert [item.key for item in case.outbox] == ["dunning:pay_1:canceled"]  # the close's event, sent next
    assert [event.what for event in case.timeline[-2:]] == ["hold released: close", LAST_EMAIL]
    for offset in (DAY, *DEADLINE):
        world.tick(NOON + offset)
    assert (world.case().next_due(), world.case().outbox) == (None, ())
    assert world.processor.keys == []
    assert world.templates() == ["payment_failed"]
    assert world.sent(names.SUBSCRIPTION_ACTIONS_OUT) == []
    assert world.case().status == "canceled"


def test_close_drops_the_emails_the_case_still_owed() -> None:
    """An email waiting in the outbox (quiet hours) is not sent once the operator closes the case."""
    world = World(Processor([OK]))
    night = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # the payment_failed email waits for the morning
    event = PaymentFailed.model_validate(failed(SOFT).model_dump() | {"failed_at": night})
    handle_event(world.dunning, event, night)
    other = PaymentFailed.model_validate(event.model_dump() | {"event_id": "evt_f2", "amount": 2999})
    with pytest.raises(PermanentError):
        handle_event(world.dunning, other, night + timedelta(minutes=1))
    assert any(isinstance(item.message, EmailRequested) for item in world.case().outbox)
    handle_event(world.dunning, release("close"), night + timedelta(minutes=2))
    world.tick(night + timedelta(hours=10))
    assert world.templates() == []
    assert world.case().outbox == ()


@pytest.mark.parametrize("decision", ["resume", "close"])
def test_a_redelivered_release_changes_nothing(decision: str) -> None:
    """The same case.release again (even after the case moved on) is acknowledged without effect."""
    world = held_by_conflict()
    handle_event(world.dunning, release(decision), NOON + timedelta(minutes=3))
    first = world.case()
    handle_event(world.dunning, release(decision), NOON + timedelta(minutes=4))
    assert world.case() == first
    world.tick(NOON + DAY)
    after = world.case()
    handle_event(world.dunning, release(decision), NOON + timedelta(days=2))
    assert world.case() == after
    assert [event.what for event in after.timeline].count(f"hold released: {decision}") == 1
    assert world.processor.keys == (["pay_1:1"] if decision == "resume" else [])


@pytest.mark.parametrize("decision", ["resume", "close"])
def test_releasing_a_case_that_is_not_held_is_refused_and_changes_nothing(decision: str) -> None:
    """A case nobody holds: PermanentError naming it (dead-lettered), the case untouched."""
    world = World(Processor([OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    before = world.case()
    with pytest.raises(PermanentError, match="case pay_1 is not held"):
        handle_event(world.dunning, release(decision), NOON + timedelta(minutes=3))
    assert world.case() == before


def test_a_second_release_with_a_new_id_is_refused_as_not_held() -> None:
    """The operator runs the command twice: the second message finds nothing held and is dead-lettered."""
    world = held_by_conflict()
    handle_event(world.dunning, release("resume"), NOON + timedelta(minutes=3))
    with pytest.raises(PermanentError, match="not held"):
        handle_event(world.dunning, release("close", event_id="rel_2"), NOON + timedelta(minutes=4))
    assert world.case().status == "open"


def test_releasing_an_unknown_case_is_refused() -> None:
    """No such case: PermanentError naming the case, nothing written."""
    world = World(Processor([OK]))
    with pytest.raises(PermanentError, match="no case pay_404"):
        handle_event(world.dunning, release("resume", case_id="pay_404"), NOON)
    assert CaseStore(world.state).get("pay_404") == (None, None)


def test_an_in_doubt_case_resumed_asks_again_with_the_same_key() -> None:
    """An answer nobody could read held the attempt pending; resume re-asks under its key, charged once."""
    garbled = StripeAnswer(200, b"<html>gateway</html>")
    world = World(Processor([garbled, OK]))
    handle_event(world.dunning, failed(SOFT), NOON)
    world.tick(NOON + DAY)
    assert world.case().held is not None
    world.tick(NOON + DAY + timedelta(hours=1))
    assert world.processor.keys == ["pay_1:1"]
    handle_event(world.dunning, release("resume"), NOON + DAY + timedelta(hours=2))
    world.tick(NOON + DAY + timedelta(hours=2, seconds=5))
    assert world.processor.keys == ["pay_1:1", "pay_1:1"]
    assert world.case().status == "recovered"


def test_a_closed_held_case_cannot_resume_but_can_be_closed() -> None:
    """Held after a success closed it (our charge unanswered): resume is refused, close clears the hold."""
    world = held_by_conflict()
    store = CaseStore(world.state)
    case, etag = store.get("pay_1")
    assert case is not None
    store.replace(case.model_copy(update={"status": "canceled"}), etag)
    with pytest.raises(PermanentError, match=r"canceled.*--close"):
        handle_event(world.dunning, release("resume"), NOON + timedelta(minutes=3))
    handle_event(world.dunning, release("close", event_id="rel_2"), NOON + timedelta(minutes=4))
    assert (world.case().status, world.case().held) == ("canceled", None)


def test_the_release_is_a_typed_versioned_payment_event_and_old_types_still_read() -> None:
    """case.release parses from the queue's union; a blank reason or unknown decision is invalid."""
    events: TypeAdapter[Any] = TypeAdapter(PaymentEvent)
    data = release("close").model_dump(mode="json")
    assert data["version"] == 1
    assert events.validate_python(data) == release("close")
    assert isinstance(events.validate_python(failed(SOFT).model_dump(mode="json")), PaymentFailed)
    for bad in ({"reason": "  "}, {"decision": "charge"}, {"version": 2}, {"case_id": "a b"}):
        with pytest.raises(ValidationError):
            events.validate_python(data | bad)


def test_the_cli_builds_the_release_message() -> None:
    """`bindery cases release ID --reason R --resume` parses into a case.release, serialised as JSON."""
    args = release_cli.parser().parse_args(["pay_1", "--reason", "checked", "--resume", "--operator", "bob"])
    message = release_cli.message(args, NOON)
    body = json.loads(release_cli.encode(message))
    assert body["type"] == "case.release"
    assert body["event_id"].startswith("rel_")
    del body["event_id"]
    assert body == {
        "type": "case.release", "version": 1, "case_id": "pay_1", "decision": "resume",
        "reason": "checked", "operator": "bob", "requested_at": "2026-03-02T12:00:00Z",
    }  # fmt: skip
    with pytest.raises(SystemExit):
        release_cli.parser().parse_args(["pay_1", "--reason", "x", "--resume", "--close"])
    with pytest.raises(SystemExit):
        release_cli.parser().parse_args(["pay_1", "--reason", "x"])


def test_bindery_cases_release_sends_through_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cli.main` dispatches `cases release` to the sender with the chosen storage; bad input exits 1."""
    sent: list[tuple[CaseRelease, str | None, str | None]] = []
    monkeypatch.setattr(release_cli, "send", lambda m, *, connection_string, account_url: sent.append(
        (m, connection_string, account_url)))  # fmt: skip
    argv = ["cases", "release", "pay_1", "--reason", "refund agreed", "--close", "--connection-string", "cs"]
    assert cli.main(argv) == 0
    [(message, connection, url)] = sent
    assert (message.case_id, message.decision, message.reason, connection, url) == (
        "pay_1", "close", "refund agreed", "cs", None,
    )  # fmt: skip
    assert cli.main(["cases", "release", "pay 1", "--reason", "x", "--close"]) == 1
    assert len(sent) == 1
