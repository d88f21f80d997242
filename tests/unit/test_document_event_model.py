"""`DocumentEvent` (version 1): one deterministic id per issued number, a positive size, a bounded total."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from functions.common import money
from functions.common.document_events import DocumentEvent, document_event_id

AT = datetime(2026, 12, 6, 12, tzinfo=UTC)


def make(**fields: Any) -> DocumentEvent:
    """Invoice INV-1's event, with `fields` changed."""
    base = {
        "type": "document.rendered", "event_id": "invoice:INV-1:rendered", "document_type": "invoice",
        "number": "INV-1", "blob": "invoices/2026/12/INV-1-v1.pdf", "size": 20480, "currency": "EUR",
        "amount": 2379, "occurred_at": AT.isoformat(),
    }  # fmt: skip
    return DocumentEvent.model_validate({**base, **fields})


def test_ids_name_the_type_and_the_number_and_admit_every_valid_number() -> None:
    """`{type}:{number}:rendered`, for the longest number and every character a number may hold."""
    assert document_event_id("receipt", "case-1") == "receipt:case-1:rendered"
    number = "Ab0_.:@/-" + "x" * 111
    event = make(
        document_type="receipt", number=number, event_id=document_event_id("receipt", number),
        blob=f"receipts/2026/12/{number}-v1.pdf",
    )  # fmt: skip
    assert (event.version, len(event.number)) == (1, 120)


def test_a_valid_event_round_trips() -> None:
    """An invoice's event survives JSON both ways, a zero total and the largest one included."""
    for amount in (0, money.MAX_MINOR):
        event = make(amount=amount)
        assert DocumentEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize(
    "fields",
    [
        {"event_id": "receipt:INV-1:rendered"},  # another type's id
        {"event_id": "invoice:INV-2:rendered"},  # another number's id
        {"event_id": "invoice:INV-1:issued"},  # not the id's form
        {"number": "INV-2"},  # the id is INV-1's
        {"document_type": "credit_note", "event_id": "credit_note:INV-1:rendered"},  # not a v1 type
        {"type": "document.deleted"},
        {"number": "INV 1", "event_id": "invoice:INV 1:rendered"},  # not a number
        {"number": "x" * 121, "event_id": f"invoice:{'x' * 121}:rendered"},  # too long
        {"size": 0},
        {"amount": -1},
        {"amount": money.MAX_MINOR + 1},
        {"currency": "eur"},
        {"occurred_at": "2026-12-06T12:00:00"},  # naive
        {"blob": "invoices/2026/12/INV 1.pdf"},
        {"version": 2},
        {"pages": 3},  # unknown fields are refused
    ],
)  # fmt: skip
def test_an_inconsistent_or_out_of_range_event_is_refused(fields: dict[str, Any]) -> None:
    """A wrong id, type, number, size, amount, currency, naive time, version or extra field: refused."""
    with pytest.raises(ValidationError):
        make(**fields)
