"""The aggregator's counters for N open cases, written straight into the `aggregates` sqlite file.

`size` cases opened over the `DAYS` days ending with `today` (UTC), `size / DAYS` a day, each with a
proportional mix of effects (`events`): the dunning events (version 2: `failed_at`, `step`,
`email_step`) of its charges, recoveries and losses, the emails of its steps, a receipt per recovery,
a dead letter per thousand cases (one a day at least). What an event adds comes from the aggregator's
own functions (`tallies.*_dimensions`, and `tallies.dunning_moves` for the gauges), which shard it lands
in from `counters.shard`, and the rows are what `counters.count` leaves (`functions.common.aggregates`):
per day, topic and shard a counts key (`Counts` v1: the tallies and the ids it has counted, `seen`,
in the order counted) and a totals key (`Totals` v1: the same tallies); per gauge shard of the dunning
topic a gauges key (`Levels` v1: each open-cases gauge's moves summed). `folded` gets the same through
`counters.count` itself, one event at a time into a `MemoryStateStore` (slow: small sizes, the test).
Rows go into daprd's table as daprd writes them: key `aggregator||…` (the component's `keyPrefix`),
the JSON base64-encoded, `is_binary` 1.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import sqlite3
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from bindings.messages import DeadLetterEvent
from bindings.testing import MemoryStateStore
from functions.aggregator import counters, tallies
from functions.common import domain_events
from functions.common.aggregates import (
    GAUGES_PREFIX,
    KEY_PREFIX,
    TOTALS_PREFIX,
    ZERO,
    Counts,
    Level,
    Levels,
    Tally,
    Totals,
    gauges_key,
    key,
    totals_key,
)
from functions.common.document_events import DocumentEvent
from functions.common.domain_events import DunningEvent, EmailEvent

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DAYS: Final = 30
PREFIX: Final = "aggregator||"  # components/local/aggregates.yaml: keyPrefix `aggregator`
_CODES = ("insufficient_funds", "do_not_honor", "card_declined", "expired_card", "generic_decline")
_FAILED = datetime(2026, 1, 1, tzinfo=UTC)  # a case's failure; only the hours to its recovery count
Effect = tuple[dict[str, int], dict[str, Level]]  # what an event adds: dimensions, gauge moves
Event = tuple[str, str, dict[str, int], dict[str, Level]]  # topic, event id, dimensions, gauge moves
Row = Counts | Totals | Levels  # a stored key's value


@functools.cache
def _dunning(kind: str, step: int, hours: int = 0, **extra: Any) -> Effect:  # noqa: ANN401 - its fields
    """A version 2 dunning event at `step`, `hours` after its case's failure: its dimensions and moves."""
    fields: dict[str, Any] = {"type": kind, "version": 2, "currency": "EUR", "amount": 2900, "step": step,
                              "failed_at": _FAILED, "occurred_at": _FAILED + timedelta(hours=hours),
                              **extra}  # fmt: skip
    event = DunningEvent.model_construct(**fields)
    return tallies.dunning_dimensions(event), tallies.dunning_moves(event)


@functools.cache
def _email(status: str, template: str = "payment_failed") -> dict[str, int]:
    fields: dict[str, Any] = {"type": f"email.{status}", "template": template}
    return tallies.email_dimensions(EmailEvent.model_construct(**fields))


@functools.cache
def _declined(i: int) -> Effect:
    klass = "hard" if i % 4 == 0 else "soft"
    return _dunning("attempt.charged", 1, attempt=1, outcome="declined", decline_class=klass,
                    decline_code=_CODES[i % len(_CODES)])  # fmt: skip


@functools.cache
def _receipt() -> dict[str, int]:
    fields: dict[str, Any] = {"currency": "EUR", "amount": 2900, "document_type": "receipt"}
    receipt = DocumentEvent.model_construct(**fields)
    return tallies.document_dimensions(receipt)


def events(day: date, i: int) -> Iterator[Event]:
    """The effects of case `i` opened on `day`: MIX's shares, decided by `i` (deterministic).

    Its step is the charges answered so far: 0 opened, 1 after the declined first retry (a day after the
    failure), 2 after a paid second one (three days after); a close is at the step it closed at.
    """
    case = f"pi_{day:%Y%m%d}{i:016d}"  # a payment id's length (27 characters)
    dunning, email, none = domain_events.DUNNING, domain_events.EMAIL, dict[str, Level]()
    yield dunning, f"{case}:opened", *_dunning("case.opened", 0)
    yield dunning, f"{case}:attempt:1", *_declined(i % 20)
    yield email, f"{case}:payment_failed:0:sent", _email("sent"), none
    if i % 10 != 9:  # noqa: PLR2004 - 90 % delivered
        yield email, f"{case}:payment_failed:0:delivered", _email("delivered"), none
    if i % 5 in {0, 1}:  # 40 % opened
        yield email, f"{case}:payment_failed:0:opened", _email("opened"), none
    if i % 10 == 0:  # 10 % clicked
        yield email, f"{case}:payment_failed:0:clicked", _email("clicked"), none
    if i % 33 == 0:  # 3 % bounced
        yield email, f"{case}:payment_failed:0:bounced", _email("bounced"), none
    if i % 5 == 0:  # 20 % recovered on the second retry, with a receipt
        # two thirds after the first retry's reminder (sent and delivered), a third with none sent
        step = "payment_failed" if i % 15 == 0 else "reminder"
        if step == "reminder":
            yield email, f"{case}:reminder:1:sent", _email("sent", "reminder"), none
            yield email, f"{case}:reminder:1:delivered", _email("delivered", "reminder"), none
        hours = 72 + (i // 5) % 2  # three days at the failure's time of day, or the hour after
        yield dunning, f"{case}:attempt:2", *_dunning("attempt.charged", 2, hours, attempt=2, outcome="paid")
        yield dunning, f"{case}:recovered", *_dunning("case.recovered", 2, hours, email_step=step)
        yield domain_events.DOCUMENTS, f"receipt:in_{case}:rendered", _receipt(), none
    elif i % 10 == 1:  # 10 % abandoned, 5 % canceled, after the first retry's reminder
        yield dunning, f"{case}:abandoned", *_dunning("case.abandoned", 1, email_step="reminder")
    elif i % 20 == 2:  # noqa: PLR2004
        yield dunning, f"{case}:canceled", *_dunning("case.canceled", 1, email_step="reminder")
    if i % 1000 == 0:
        at = datetime(day.year, day.month, day.day, i % 24, tzinfo=UTC)
        fields: dict[str, Any] = {"source": "payment-events", "kind": "invalid", "occurred_at": at}
        dead = DeadLetterEvent.model_construct(**fields)
        dead_id = hashlib.sha256(case.encode()).hexdigest()[:32]  # a dead letter's id: 32 hex digits
        yield domain_events.DEAD_LETTERS, dead_id, tallies.dead_letter_dimensions(dead), none


def _days(size: int, today: date) -> Iterator[tuple[date, int]]:
    """Each of the `DAYS` days ending `today` with the cases opened on it."""
    for day in (today - timedelta(days=back) for back in range(DAYS)):
        yield day, _per_day(size, day, today)


def shards(size: int, today: date) -> dict[str, Row]:
    """Every key -> its value for `size` cases over the `DAYS` days ending `today` (as `folded`, fast)."""
    tallied: dict[str, dict[str, list[int]]] = defaultdict(dict)
    seen: dict[str, list[str]] = defaultdict(list)
    totals: dict[str, str] = {}  # counts key -> its totals key
    levels: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for day, cases in _days(size, today):
        for i in range(cases):
            for topic, event_id, dimensions, moves in events(day, i):
                number = counters.shard(event_id)
                name = key(topic, day, number)
                if name not in totals:
                    totals[name] = totals_key(topic, day, number)
                seen[name].append(event_id)
                for dimension, amount in dimensions.items():
                    tally = tallied[name].setdefault(dimension, [0, 0])
                    tally[0] += 1
                    tally[1] += amount
                for gauge, move in moves.items():
                    level = levels[gauges_key(topic, number)].setdefault(gauge, [0, 0])
                    level[0] += move.count
                    level[1] += move.amount
    out: dict[str, Row] = {}
    for name, ids in seen.items():
        found = {d: Tally(count=c, amount=a) for d, (c, a) in tallied[name].items()}
        out[name] = Counts.model_construct(tallies=found, seen=tuple(ids))
        out[totals[name]] = Totals.of(found)
    for name, moved in levels.items():
        out[name] = Levels.model_construct(
            levels={g: Level(count=c, amount=a) for g, (c, a) in moved.items()}
        )
    return out


def folded(size: int, today: date) -> dict[str, bytes]:
    """The values `counters.count` stores counting the same events one at a time (slow: small sizes)."""
    store = MemoryStateStore()
    for day, cases in _days(size, today):
        for i in range(cases):
            for topic, event_id, dimensions, moves in events(day, i):
                if not counters.count(store, topic, day, event_id, dimensions, moves=moves or None):
                    raise RuntimeError(f"{event_id} counted twice")
    return {name: value for name in store.keys("") if (value := store.get(name).value) is not None}


def encoded(rows: dict[str, Row]) -> dict[str, bytes]:
    """Each key's value as stored: its JSON (what `folded` answers for the same events)."""
    return {name: row.model_dump_json().encode() for name, row in rows.items()}


def _per_day(size: int, day: date, today: date) -> int:
    """Cases opened on `day`: `size` spread evenly, the remainder on the latest days."""
    back = (today - day).days
    return size // DAYS + (1 if back < size % DAYS else 0)


def write(database: Path, rows: dict[str, Row]) -> dict[str, int]:
    """Write the rows into daprd's table (daprd created it, and is not running); their figures.

    `keys` and `bytes` in all; `{counts,totals,gauges}_keys` and `…_bytes` by kind; `events`: ids counted.
    """
    stored: list[tuple[str, str, int, str]] = []
    figures = {f"{kind}_{what}": 0 for kind in ("counts", "totals", "gauges") for what in ("keys", "bytes")}
    kinds = {KEY_PREFIX: "counts", TOTALS_PREFIX: "totals", GAUGES_PREFIX: "gauges"}
    for name, value in encoded(rows).items():
        kind = next(kind for prefix, kind in kinds.items() if name.startswith(prefix))
        figures[f"{kind}_keys"] += 1
        figures[f"{kind}_bytes"] += len(value)
        stored.append((PREFIX + name, base64.b64encode(value).decode(), 1, str(uuid.uuid4())))
    with sqlite3.connect(database, timeout=30) as connection:
        connection.executemany(
            "INSERT OR REPLACE INTO state (key, value, is_binary, etag, update_time)"
            " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
            stored,
        )
    events_counted = sum(len(row.seen) for row in rows.values() if isinstance(row, Counts))
    every = {"keys": len(stored), "bytes": sum(figures[f"{kind}_bytes"] for kind in kinds.values())}
    return {**every, **figures, "events": events_counted}


def opened(rows: dict[str, Row]) -> int:
    """Cases opened in `rows` (every day's `EUR/opened` in the counts keys): the size, read back."""
    return sum(row.tallies.get("EUR/opened", ZERO).count for row in rows.values() if isinstance(row, Counts))


def open_levels(rows: dict[str, Row]) -> dict[str, Level]:
    """The dunning gauges in `rows`, their shards added up (as `aggregates.levels` reads them)."""
    total: dict[str, Level] = {}
    for row in rows.values():
        if isinstance(row, Levels):
            for name, level in row.levels.items():
                total[name] = total[name].plus(level) if name in total else level
    return total
