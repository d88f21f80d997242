"""A `World` whose queues keep one journal of every message sent, in order, and the check of a case's life.

`check_life` asserts what `DunningEvent` version 2 promises the aggregator's gauges for a stepped case:
one `case.opened` at step 0, `attempt.charged` at steps 1..k once each, at most one close at step k
after them, no step on a charge only if it was answered after the close was built, the gauge moves
adding up to nothing for a closed case and to +1 at step k for an open one, and a close's
`email_step` naming the last ladder email sent before the close was recorded (stored).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bindings.testing import MemoryQueue, MemoryStateStore
from functions.common.domain_events import CLOSES, DunningEvent
from functions.common.messages import EmailRequested
from functions.payment_retry.dunning import OUTBOUND
from functions.payment_retry.policy import load_policy
from tests.unit.payment_retry.test_processor_errors import World

if TYPE_CHECKING:
    from pydantic import BaseModel

    from functions.payment_retry.dunning import Dunning

Life = list[tuple[str, int | None, str | None]]  # (type, step, email_step) of each event, in order


class JournalQueue(MemoryQueue):
    """A `MemoryQueue` that also appends each message it sends to a journal shared by all queues."""

    def __init__(self, binding: str, journal: list[BaseModel]) -> None:
        super().__init__(binding)
        self.journal = journal

    def send(self, message: BaseModel) -> None:
        """Send as a `MemoryQueue`, then note it in the journal."""
        super().send(message)
        self.journal.append(message)


class JournalState(MemoryStateStore):
    """A `MemoryStateStore` noting how long the journal was when case pay_1 was first stored owing a close.

    The close is recorded (built, then written) before any flush sends what it owes: the journal up to
    `closed_at` is what was sent before the close was recorded.
    """

    def __init__(self, journal: list[BaseModel]) -> None:
        super().__init__()
        self.journal = journal
        self.closed_at: int | None = None

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Save as a `MemoryStateStore`, then note a first close."""
        super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)
        self._note(key, value)

    def create(self, key: str, value: bytes) -> None:
        """Create as a `MemoryStateStore`, then note a first close."""
        super().create(key, value)
        self._note(key, value)

    def _note(self, key: str, value: bytes) -> None:
        if key != "case:pay_1" or self.closed_at is not None:
            return
        case = json.loads(value)
        keys = {item["key"] for item in case["outbox"]} | set(case["sent"])
        if any(f"dunning:pay_1:{end}" in keys for end in ("recovered", "abandoned", "canceled")):
            self.closed_at = len(self.journal)


@dataclass
class Recorded(World):
    """A `World` with a journal of sends across queues; `suppressed` addresses are never mailed."""

    journal: list[BaseModel] = field(default_factory=list)
    suppressed: frozenset[str] = frozenset()
    ledger: JournalState = field(init=False)

    def __post_init__(self) -> None:
        self.queues = {name: JournalQueue(name, self.journal) for name in OUTBOUND}
        self.ledger = JournalState(self.journal)
        self.state = self.ledger

    @property
    def dunning(self) -> Dunning:
        """The engine as a replica runs it, with the suppression list."""
        return dataclasses.replace(super().dunning, suppressed=self.suppressed)


def gauges(events: list[DunningEvent]) -> dict[int, int]:
    """The open-case gauges by step the events move (a step-less event moves none), zeros left out."""
    levels: Counter[int] = Counter()
    for event in events:
        if event.step is None:
            continue
        if event.type == "attempt.charged":
            levels[event.step - 1] -= 1
        levels[event.step] += 1 if event.type in {"case.opened", "attempt.charged"} else -1
    return {step: level for step, level in levels.items() if level}


def check_life(world: Recorded) -> Life:
    """Assert the version 2 promises over every dunning event the world's case pay_1 published; its life."""
    case = world.case()
    firsts: dict[str, DunningEvent] = {}
    at: dict[str, int] = {}  # the journal position of each event's first send
    for position, message in enumerate(world.journal):
        if isinstance(message, DunningEvent):
            assert firsts.setdefault(message.event_id, message) == message  # a repeat is the same event
            at.setdefault(message.event_id, position)
    events = list(firsts.values())
    assert case.stepped
    assert {(event.version, event.failed_at) for event in events} == {(2, case.failed_at)}
    assert [(e.type, e.step) for e in events if e.type == "case.opened"] == [("case.opened", 0)]
    assert events[0].type == "case.opened"
    charges = [event for event in events if event.type == "attempt.charged"]
    stepped = [event for event in charges if event.step is not None]
    assert [event.step for event in stepped] == list(range(1, len(stepped) + 1))
    answered = sorted(a.number for a in case.attempts if a.outcome in {"succeeded", "declined"})
    assert sorted(event.attempt or 0 for event in charges) == answered  # each answered charge, once
    closes = [event for event in events if event.type in CLOSES]
    assert len(closes) <= 1
    for close in closes:
        assert close.step == len(stepped)
        assert all(at[charge.event_id] < at[close.event_id] for charge in stepped)
        assert world.ledger.closed_at is not None
        recorded = world.journal[: world.ledger.closed_at]  # sent before the close was recorded
        assert close.email_step == _last_ladder_email(recorded, case.policy, case.policy_version)
    assert closes or len(stepped) == len(charges)  # a charge without a step is one answered after the close
    assert gauges(events) == ({} if closes else {len(stepped): 1})
    assert all(event.email_step is None for event in events if event.type not in CLOSES)
    return [(event.type, event.step, event.email_step) for event in events]


def _last_ladder_email(sent: list[BaseModel], policy: str, version: int) -> str | None:
    """The template of the last email of the policy's ladder among `sent`, if any."""
    emails = load_policy(policy, version).emails
    ladder = {emails.on_failure, *emails.attempts}
    templates = [m.template for m in sent if isinstance(m, EmailRequested)]
    return next((template for template in reversed(templates) if template in ladder), None)
