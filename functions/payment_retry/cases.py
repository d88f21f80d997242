"""Cases in the state store, and the due index a tick reads instead of scanning every case.

Keys: `case:{id}` (the `Case` JSON, written with ETags), `due:{yyyymmddHHMM}:{shard}` (ids due in
that UTC minute, sharded so concurrent writers rarely collide), `due-cursor` (the last minute whose
cases are all settled), `customer:{id}` (the customer's case ids), `settled:{payment id}` (a
`Settlement`, the first success wins) and `card-update:{customer id}` (the latest `CardUpdate`),
which outlive the order their events arrive in. An index entry is a hint, never
the truth: the case's own `next_due()` is. Entries are written *before* the case they point to,
so a crash in between leaves a harmless stale hint rather than a case nobody will ever look at.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bindings.errors import ConflictError
from bindings.optimistic import retry_conflicts, write_back
from functions.payment_retry.arrivals import CardUpdate, Settlement
from functions.payment_retry.model import Case

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from bindings.ports import StateStore
    from functions.payment_retry.model import PaymentMethodUpdated, PaymentSucceeded

SHARDS = 8
_SHARDS = tuple(f":{shard}" for shard in range(SHARDS))  # each index key's end
_CURSOR = "due-cursor"
_MINUTE = timedelta(minutes=1)
_WRITE_TRIES = 25


def minute_of(moment: datetime) -> datetime:
    """The UTC minute holding `moment`."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def minutes_after(start: datetime, end: datetime) -> Iterator[datetime]:
    """Each UTC minute after `start`'s, up to and including `end`'s."""
    minute, last = minute_of(start) + _MINUTE, minute_of(end)
    while minute <= last:
        yield minute
        minute += _MINUTE


class CaseStore:
    """Cases, the due index and the customer index over a `StateStore`."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def get(self, case_id: str) -> tuple[Case | None, str | None]:
        """The case and its ETag, or (None, None)."""
        item = self._state.get(f"case:{case_id}")
        if item.value is None:
            return None, None
        return Case.model_validate_json(item.value), item.etag

    def create(self, case: Case) -> None:
        """Store a new case; `ConflictError` if it already exists."""
        self._state.create(f"case:{case.case_id}", case.model_dump_json().encode())

    def replace(self, case: Case, etag: str | None) -> None:
        """Overwrite a case read with `etag`; `ConflictError` if it changed since."""
        self._state.save(f"case:{case.case_id}", case.model_dump_json().encode(), etag=etag)

    def index(self, case_id: str, due: datetime, now: datetime) -> None:
        """Note that `case_id` is due at `due` (never earlier than the current minute)."""
        key = f"due:{minute_of(max(due, now)):%Y%m%d%H%M}:{zlib.crc32(case_id.encode()) % SHARDS}"
        self._add(key, case_id)

    def index_next_due(self, case: Case, now: datetime) -> None:
        """Index `case` at its own `next_due()`, if anything is owed; before the case is written."""
        if (due := case.next_due()) is not None:
            self.index(case.case_id, due, now)

    def due(self, minutes: Sequence[datetime]) -> list[tuple[list[str], list[str]]]:
        """For each of `minutes`, the case ids indexed under it and the index keys holding them; one read."""
        keys = [
            stamp + shard
            for minute in minutes
            for stamp in (f"due:{minute:%Y%m%d%H%M}",)
            for shard in _SHARDS
        ]
        items = self._state.get_many(keys)
        found: list[tuple[list[str], list[str]]] = []
        for start in range(0, len(items), SHARDS):
            held = [item for item in items[start : start + SHARDS] if item.value]
            ids = [case_id for item in held for case_id in _ids(item.value)]
            found.append((list(dict.fromkeys(ids)) if ids else ids, [item.key for item in held]))
        return found

    def forget(self, keys: list[str]) -> None:
        """Drop the index entries of settled minutes: the keys `due` found holding ids."""
        for key in keys:
            self._state.delete(key)

    def cursor(self) -> datetime | None:
        """The last minute whose cases are all settled, if any tick or case has set it."""
        value = self._state.get(_CURSOR).value
        return datetime.fromisoformat(value.decode()) if value else None

    def start_cursor(self, minute: datetime) -> None:
        """Set the cursor to just before `minute` unless a cursor exists."""
        try:
            self._state.create(_CURSOR, (minute_of(minute) - _MINUTE).isoformat().encode())
        except ConflictError:
            return

    def advance_cursor(self, minute: datetime) -> None:
        """Move the cursor forward to `minute`; never backward, whatever other replicas do."""
        retry_conflicts(lambda: self._advance_once(minute), tries=_WRITE_TRIES)

    def add_customer_case(self, customer_id: str, case_id: str) -> None:
        """Record that `case_id` belongs to `customer_id`."""
        self._add(f"customer:{customer_id}", case_id)

    def customer_cases(self, customer_id: str) -> list[str]:
        """Every case id of `customer_id`."""
        return _ids(self._state.get(f"customer:{customer_id}").value)

    def remember_settlement(self, event: PaymentSucceeded, now: datetime) -> Settlement:
        """Record that `event`'s payment is settled; the first record wins and is returned."""
        record = Settlement.of(event, now)
        try:
            self._state.create(f"settled:{event.payment_id}", record.model_dump_json().encode())
        except ConflictError:
            return self.settlement(event.payment_id) or record
        return record

    def settlement(self, payment_id: str) -> Settlement | None:
        """How `payment_id` was settled outside dunning, if it was."""
        value = self._state.get(f"settled:{payment_id}").value
        return Settlement.model_validate_json(value) if value else None

    def remember_card_update(self, event: PaymentMethodUpdated, now: datetime) -> CardUpdate:
        """Record `event` unless a later update is recorded; the customer's latest update is returned."""

        def once() -> CardUpdate:
            item = self._state.get(f"card-update:{event.customer_id}")
            if item.value is not None:
                current = CardUpdate.model_validate_json(item.value)
                if current.updated_at >= event.updated_at:
                    return current
            record = CardUpdate.of(event, now)
            write_back(self._state, item, record.model_dump_json().encode())
            return record

        return retry_conflicts(once, tries=_WRITE_TRIES)

    def card_update(self, customer_id: str) -> CardUpdate | None:
        """The customer's latest payment method update, if any arrived."""
        value = self._state.get(f"card-update:{customer_id}").value
        return CardUpdate.model_validate_json(value) if value else None

    def _advance_once(self, minute: datetime) -> None:
        item = self._state.get(_CURSOR)
        if item.value is not None and datetime.fromisoformat(item.value.decode()) >= minute:
            return
        write_back(self._state, item, minute.isoformat().encode())

    def _add(self, key: str, case_id: str) -> None:
        def once() -> None:
            item = self._state.get(key)
            ids = _ids(item.value)
            if case_id in ids:
                return
            write_back(self._state, item, json.dumps([*ids, case_id]).encode())

        retry_conflicts(once, tries=_WRITE_TRIES)


def _ids(value: bytes | None) -> list[str]:
    return [str(item) for item in json.loads(value)] if value else []
