"""receipt-render publishes each issued document's event, built from what was stored, at least once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bindings.errors import PermanentError, TransientError
from bindings.testing import MemoryPublisher
from functions.common import domain_events
from functions.common.document_events import DocumentEvent
from functions.common.domain_events import TopicQueue
from functions.common.testing import UnsignedLinks
from functions.receipt_render import app, publications
from functions.receipt_render.issuance import Record
from functions.receipt_render.receipt import ReceiptDetails
from tests.unit.receipt_render.test_invoice import event as blob_event
from tests.unit.receipt_render.test_issuance import (
    START,
    Desk,
    a_billing_receipt,
    a_dunning_receipt,
    an_order,
)

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class Wired:
    """receipt-render's module ports swapped for the desk's, and the publisher behind its documents topic."""

    desk: Desk
    publisher: MemoryPublisher

    def events(self) -> list[DocumentEvent]:
        """The events published on the documents topic, each checked to carry its id as CloudEvent id."""
        found = []
        for topic, event_id, event in self.publisher.published:
            assert topic == domain_events.DOCUMENTS
            assert isinstance(event, DocumentEvent)
            assert event_id == event.event_id
            found.append(event)
        return found


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Wired:
    """The app over in-memory ports."""
    desk, publisher = Desk(), MemoryPublisher()
    for name, port in {
        "billing": desk.billing, "documents": desk.documents, "email_requests": desk.mail,
        "clock": desk.clock, "links": UnsignedLinks,
        "document_events": TopicQueue(publisher, domain_events.DOCUMENTS),
    }.items():  # fmt: skip
        monkeypatch.setattr(app, name, port)
    return Wired(desk, publisher)


def upload(desk: Desk, order: dict[str, Any], blob: str = "orders/ord-1.json") -> None:
    """The shop uploads `order`; storage's BlobCreated event reaches the app."""
    desk.documents.blobs[blob] = (json.dumps(order).encode(), "application/json", {})
    app.on_order_created(blob_event(blob))


@dataclass(frozen=True)
class Kind:
    """One document type as it reaches the app, and the event its issue owes."""

    arrive: Callable[[Desk], None]
    blob: str
    event_id: str
    number: str
    amount: int  # the total in minor units: 2 x 9.995 = 19.99 + 19 % tax 3.80; 29.00; 49.00


KINDS = {
    "invoice": Kind(
        lambda d: upload(d, an_order()), "invoices/2026/03/INV-2026-001-v1.pdf",
        "invoice:INV-2026-001:rendered", "INV-2026-001", 2379,
    ),
    "dunning receipt": Kind(
        lambda _: app.on_receipt_requested(a_dunning_receipt()), "receipts/2026/03/case-1-v1.pdf",
        "receipt:case-1:rendered", "case-1", 2900,
    ),
    "billing receipt": Kind(
        lambda d: app.on_receipt_requested(a_billing_receipt(d)), "receipts/2026/03/rcpt-7-v1.pdf",
        "receipt:rcpt-7:rendered", "rcpt-7", 4900,
    ),
}  # fmt: skip
every_kind = pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))


@every_kind
def test_an_issued_document_publishes_its_event_from_the_record_and_the_stored_pdf(
    wired: Wired, kind: Kind
) -> None:
    """One `document.rendered`: number, blob, the PDF's bytes, the total, when the record says issued."""
    kind.arrive(wired.desk)
    [event] = wired.events()
    assert event.model_dump() == {
        "version": 1, "type": "document.rendered", "event_id": kind.event_id,
        "document_type": kind.event_id.split(":")[0], "number": kind.number, "blob": kind.blob,
        "size": len(wired.desk.pdfs()[kind.blob]), "currency": "EUR", "amount": kind.amount,
        "occurred_at": START,
    }  # fmt: skip


@every_kind
def test_a_redelivery_of_an_issued_document_publishes_the_same_event_again(wired: Wired, kind: Kind) -> None:
    """Already issued three days later: nothing stored or mailed, the same event (id, time, size) again."""
    kind.arrive(wired.desk)
    wired.desk.clock.advance(timedelta(days=3))
    kind.arrive(wired.desk)
    first, again = wired.events()
    assert again == first
    assert wired.desk.documents.writes[kind.blob] == 1
    assert len(wired.desk.emails()) == 1


@every_kind
def test_a_resumed_issue_publishes_once_the_record_says_issued(wired: Wired, kind: Kind) -> None:
    """The email request fails after the upload: no event; the redelivery finishes, then publishes."""
    wired.desk.mail.fail = TransientError("queue is down")
    with pytest.raises(TransientError):
        kind.arrive(wired.desk)
    assert wired.events() == []
    wired.desk.clock.advance(timedelta(minutes=5))
    kind.arrive(wired.desk)
    wired.desk.clock.advance(timedelta(days=1))
    kind.arrive(wired.desk)  # already issued: the same event again
    resumed, again = wired.events()
    assert resumed == again
    assert (resumed.event_id, resumed.occurred_at) == (kind.event_id, START + timedelta(minutes=5))
    assert resumed.size == len(wired.desk.pdfs()[kind.blob])


@every_kind
def test_a_failed_publish_redelivers_and_the_retry_publishes_what_was_issued(
    wired: Wired, kind: Kind
) -> None:
    """TransientError; the record, the PDF and the one email stay; the retry publishes the issue's time."""
    wired.publisher.fail = TransientError("broker is down")
    with pytest.raises(TransientError):
        kind.arrive(wired.desk)
    pdf = wired.desk.pdfs()[kind.blob]
    record = Record.model_validate(wired.desk.record(f"issued:{kind.event_id.rsplit(':', 1)[0]}"))
    assert (record.state, record.issued_at) == ("issued", START)
    wired.publisher.fail = None
    wired.desk.clock.advance(timedelta(hours=1))
    kind.arrive(wired.desk)
    [event] = wired.events()
    assert (event.event_id, event.occurred_at, event.size) == (kind.event_id, START, len(pdf))
    assert wired.desk.pdfs() == {kind.blob: pdf}
    assert len(wired.desk.emails()) == 1


def test_a_publish_the_sidecar_refuses_is_retried_not_dead_lettered(wired: Wired) -> None:
    """A permanent refusal (a missing topic) cannot undo the issue: TransientError, so it is redelivered."""
    wired.publisher.fail = PermanentError("publish to domain-events/documents: NOT_FOUND")
    with pytest.raises(TransientError, match=r"receipt:case-1:rendered was not published.*NOT_FOUND"):
        app.on_receipt_requested(a_dunning_receipt())


def test_other_content_under_an_issued_number_publishes_nothing_more(wired: Wired) -> None:
    """The refused request (PermanentError) publishes nothing: the issued receipt's event stays the one."""
    app.on_receipt_requested(a_dunning_receipt())
    with pytest.raises(PermanentError, match="with other content"):
        app.on_receipt_requested(a_dunning_receipt(amount=9900))
    assert [e.amount for e in wired.events()] == [2900]


def test_a_document_that_cannot_be_rendered_publishes_nothing(wired: Wired) -> None:
    """An unknown template version fails the render: no record, no PDF, no event."""
    with pytest.raises(PermanentError, match="unknown invoice template"):
        upload(wired.desk, an_order(template_version=9))
    assert (wired.desk.pdfs(), wired.events()) == ({}, [])


def test_an_issued_document_whose_pdf_is_gone_is_not_published_with_a_made_up_size(wired: Wired) -> None:
    """Redelivered after its blob was deleted: PermanentError naming the blob, no second event."""
    app.on_receipt_requested(a_dunning_receipt())
    del wired.desk.documents.blobs["receipts/2026/03/case-1-v1.pdf"]
    with pytest.raises(PermanentError, match=r"issued as receipts/2026/03/case-1-v1\.pdf, which no longer"):
        app.on_receipt_requested(a_dunning_receipt())
    assert len(wired.events()) == 1


def test_the_event_takes_its_time_from_the_record_and_its_total_with_tax() -> None:
    """`occurred_at` is the record's issued_at (claimed_at for a hand-written one); the total includes tax."""
    details = ReceiptDetails.model_validate(
        {
            "receipt_number": "R/2026/7", "customer": {"name": "Ann"}, "paid_at": START.isoformat(),
            "currency": "JPY", "tax_rate": "0.1",
            "lines": [{"description": "Plan", "quantity": "3", "unit_price": "1005"}],
        }
    )  # fmt: skip
    record = Record(
        type="receipt", number="r:7@x", sha256="0" * 64, blob="receipts/2026/03/r:7@x-v1.pdf",
        state="issued", claimed_at=START, issued_at=START + timedelta(seconds=2),
    )  # fmt: skip
    event = publications.event(record, details, 1234)
    assert (event.event_id, event.amount, event.currency) == ("receipt:r:7@x:rendered", 3317, "JPY")
    assert event.occurred_at == START + timedelta(seconds=2)
    by_hand = record.model_copy(update={"issued_at": None})
    assert publications.event(by_hand, details, 1234).occurred_at == START
