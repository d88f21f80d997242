"""The aggregator counts each issued document once, with its total, by currency and document type."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bindings.testing import MemoryStateStore
from functions.aggregator import app as aggregator
from functions.aggregator import tallies
from functions.common import aggregates, domain_events
from functions.common.aggregates import Tally
from functions.common.document_events import DocumentEvent, DocumentType, document_event_id

DAY = date(2026, 12, 6)
LATE = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


def document(
    kind: DocumentType, number: str, amount: int, currency: str = "EUR", at: datetime = LATE
) -> DocumentEvent:
    """The event of `kind` `number` issued at `at`, totalling `amount`."""
    return DocumentEvent(
        type="document.rendered", event_id=document_event_id(kind, number), document_type=kind,
        number=number, blob=f"{kind}s/2026/12/{number}-v1.pdf", size=4096, currency=currency,
        amount=amount, occurred_at=at,
    )  # fmt: skip


def test_a_document_event_counts_its_total_under_its_currency_and_type() -> None:
    """`{currency}/rendered.{document_type}` with the total: one dimension, the size not counted."""
    assert tallies.document_dimensions(document("invoice", "INV-1", 2379)) == {"EUR/rendered.invoice": 2379}


def test_the_handler_counts_each_document_once_on_the_day_it_was_issued(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A receipt published twice, another receipt, an invoice, a CHF receipt: each id once, in UTC days."""
    store = MemoryStateStore()
    monkeypatch.setattr(aggregator, "store", store)
    evening_in_zurich = datetime(2026, 12, 7, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # 23:30 UTC
    for event in (
        document("receipt", "case-1", 2900),
        document("receipt", "case-1", 2900),  # a redelivered request published it again
        document("receipt", "rcpt-7", 4900),
        document("invoice", "INV-1", 2379),
        document("receipt", "case-2", 1500, "CHF", evening_in_zurich),
    ):
        aggregator.on_document(event)
    assert aggregates.totals(store, domain_events.DOCUMENTS, DAY) == {
        "EUR/rendered.receipt": Tally(count=2, amount=7800),
        "EUR/rendered.invoice": Tally(count=1, amount=2379),
        "CHF/rendered.receipt": Tally(count=1, amount=1500),
    }
    assert aggregates.totals(store, domain_events.EMAIL, DAY) == {}
