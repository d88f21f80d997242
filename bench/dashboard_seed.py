"""The aggregator's counters for N open cases, written straight into the `aggregates` sqlite file.

`size` cases opened over the `DAYS` days ending with `today` (UTC), `size / DAYS` a day, each with a
proportional mix of effects (`events`): the dunning events of its attempts, recoveries and losses, the
emails of its steps, a receipt per recovery, a dead letter per thousand cases (one a day at least). What
an event adds comes from the aggregator's own functions (`tallies.*_dimensions` over its events), which
shard it lands in from `counters.shard_key`, and each shard is a `Counts` v1 with its tallies and the
ids it has counted (`seen`), as `counters.counted` leaves it (`folded` builds the same through `counted`
itself, one event at a time, for the test at small sizes). Rows go into daprd's table as daprd writes
them: key `aggregator||counts:…` (the component's `keyPrefix`), the JSON base64-encoded, `is_binary` 1.
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
from functions.aggregator import counters, tallies
from functions.common import domain_events
from functions.common.aggregates import ZERO, Counts, Tally
from functions.common.document_events import DocumentEvent
from functions.common.domain_events import DunningEvent, EmailEvent

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

DAYS: Final = 30
PREFIX: Final = "aggregator||"  # components/local/aggregates.yaml: keyPrefix `aggregator`
_CODES = ("insufficient_funds", "do_not_honor", "card_declined", "expired_card", "generic_decline")
Event = tuple[str, str, dict[str, int]]  # topic, event id, dimensions


@functools.cache
def _dunning(kind: str, **extra: Any) -> dict[str, int]:  # noqa: ANN401 - the event's fields
    fields: dict[str, Any] = {"type": kind, "currency": "EUR", "amount": 2900, **extra}
    event = DunningEvent.model_construct(**fields)
    return tallies.dunning_dimensions(event)


@functools.cache
def _email(status: str, template: str = "payment_failed") -> dict[str, int]:
    fields: dict[str, Any] = {"type": f"email.{status}", "template": template}
    return tallies.email_dimensions(EmailEvent.model_construct(**fields))


@functools.cache
def _declined(i: int) -> dict[str, int]:
    klass = "hard" if i % 4 == 0 else "soft"
    return _dunning("attempt.charged", attempt=1, outcome="declined", decline_class=klass,
                    decline_code=_CODES[i % len(_CODES)])  # fmt: skip


@functools.cache
def _receipt() -> dict[str, int]:
    fields: dict[str, Any] = {"currency": "EUR", "amount": 2900, "document_type": "receipt"}
    receipt = DocumentEvent.model_construct(**fields)
    return tallies.document_dimensions(receipt)


def events(day: date, i: int) -> Iterator[Event]:
    """The effects of case `i` opened on `day`: MIX's shares, decided by `i` (deterministic)."""
    case = f"pi_{day:%Y%m%d}{i:016d}"  # a payment id's length (27 characters)
    dunning, email = domain_events.DUNNING, domain_events.EMAIL
    yield dunning, f"{case}:opened", _dunning("case.opened")
    yield dunning, f"{case}:attempt:1", _declined(i % 20)
    yield email, f"{case}:payment_failed:0:sent", _email("sent")
    if i % 10 != 9:  # noqa: PLR2004 - 90 % delivered
        yield email, f"{case}:payment_failed:0:delivered", _email("delivered")
    if i % 5 in {0, 1}:  # 40 % opened
        yield email, f"{case}:payment_failed:0:opened", _email("opened")
    if i % 10 == 0:  # 10 % clicked
        yield email, f"{case}:payment_failed:0:clicked", _email("clicked")
    if i % 33 == 0:  # 3 % bounced
        yield email, f"{case}:payment_failed:0:bounced", _email("bounced")
    if i % 5 == 0:  # 20 % recovered on the second attempt, with a receipt
        yield dunning, f"{case}:attempt:2", _dunning("attempt.charged", attempt=2, outcome="paid")
        yield dunning, f"{case}:recovered", _dunning("case.recovered")
        yield domain_events.DOCUMENTS, f"receipt:in_{case}:rendered", _receipt()
    elif i % 10 == 1:  # 10 % abandoned, 5 % canceled
        yield dunning, f"{case}:abandoned", _dunning("case.abandoned")
    elif i % 20 == 2:  # noqa: PLR2004
        yield dunning, f"{case}:canceled", _dunning("case.canceled")
    if i % 1000 == 0:
        at = datetime(day.year, day.month, day.day, i % 24, tzinfo=UTC)
        fields: dict[str, Any] = {"source": "payment-events", "kind": "invalid", "occurred_at": at}
        dead = DeadLetterEvent.model_construct(**fields)
        dead_id = hashlib.sha256(case.encode()).hexdigest()[:32]  # a dead letter's id: 32 hex digits
        yield domain_events.DEAD_LETTERS, dead_id, tallies.dead_letter_dimensions(dead)


def shards(size: int, today: date) -> dict[str, Counts]:
    """Every shard key -> its `Counts` for `size` cases over the `DAYS` days ending `today`."""
    tallied: dict[str, dict[str, list[int]]] = defaultdict(dict)
    seen: dict[str, list[str]] = defaultdict(list)
    for day in (today - timedelta(days=back) for back in range(DAYS)):
        for i in range(_per_day(size, day, today)):
            for topic, event_id, dimensions in events(day, i):
                name = counters.shard_key(topic, day, event_id)
                seen[name].append(event_id)
                for dimension, amount in dimensions.items():
                    tally = tallied[name].setdefault(dimension, [0, 0])
                    tally[0] += 1
                    tally[1] += amount
    return {
        name: Counts.model_construct(
            tallies={d: Tally(count=c, amount=a) for d, (c, a) in tallied[name].items()}, seen=tuple(ids)
        )
        for name, ids in seen.items()
    }


def folded(size: int, today: date) -> dict[str, Counts]:
    """The same through `counters.counted`, one event at a time (slow: small sizes, the test)."""
    out: dict[str, Counts] = {}
    for day in (today - timedelta(days=back) for back in range(DAYS)):
        for i in range(_per_day(size, day, today)):
            for topic, event_id, dimensions in events(day, i):
                name = counters.shard_key(topic, day, event_id)
                out[name] = counters.counted(out.get(name, Counts()), event_id, dimensions)
    return out


def _per_day(size: int, day: date, today: date) -> int:
    """Cases opened on `day`: `size` spread evenly, the remainder on the latest days."""
    back = (today - day).days
    return size // DAYS + (1 if back < size % DAYS else 0)


def write(database: Path, counts: dict[str, Counts]) -> dict[str, int]:
    """Write the shards into daprd's table (daprd created it, and is not running); rows and bytes.

    `tally_bytes`: what the same shards would hold without their ids (their tallies alone).
    """
    rows, stored, tallies_alone = [], 0, 0
    for name, shard in counts.items():
        value = shard.model_dump_json().encode()
        stored += len(value)
        tallies_alone += len(Counts.model_construct(tallies=shard.tallies, seen=()).model_dump_json())
        rows.append((PREFIX + name, base64.b64encode(value).decode(), 1, str(uuid.uuid4())))
    with sqlite3.connect(database, timeout=30) as connection:
        connection.executemany(
            "INSERT OR REPLACE INTO state (key, value, is_binary, etag, update_time)"
            " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
            rows,
        )
    events_counted = sum(len(shard.seen) for shard in counts.values())
    return {"keys": len(rows), "bytes": stored, "tally_bytes": tallies_alone, "events": events_counted}


def opened(counts: dict[str, Counts]) -> int:
    """Cases opened in `counts` (every day's `EUR/opened`): the size, read back."""
    return sum(shard.tallies.get("EUR/opened", ZERO).count for shard in counts.values())
