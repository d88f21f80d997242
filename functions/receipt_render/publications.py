"""The domain event receipt-render publishes (`DocumentEvent` on the `documents` topic), once issued.

Published after `issuance.issue` returns, that is once the document's record says `issued`: none for a
document refused, or whose render or store failed; at least once for one issued, since a redelivered
request or upload finds it issued (`ALREADY_ISSUED`) and publishes again. Every publication of a number
is the same event, read from what was stored and never from the clock: `occurred_at` is the record's
`issued_at`, `size` the stored PDF's length (the PDF this call stored, else the blob read back), `amount`
the total of the content the record's hash binds. A failed publish raises `TransientError`: the message is
redelivered, issues nothing again and publishes; the aggregator counts the id once. Knows ports, not Dapr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Protocol

from bindings.errors import NotFoundError, PermanentError, TransientError
from functions.common.document_events import DocumentEvent, DocumentType, document_event_id
from functions.receipt_render.words import Priced, minor_units

if TYPE_CHECKING:
    from collections.abc import Sequence
    from decimal import Decimal

    from bindings.ports import BlobStore, Queue
    from functions.receipt_render.fields import Line
    from functions.receipt_render.issuance import Issued, Record

_TYPES: Final[dict[str, DocumentType]] = {"receipt": "receipt", "invoice": "invoice"}


class Priceable(Protocol):
    """What a document's total is made of: receipt details, an invoice's order."""

    @property
    def lines(self) -> Sequence[Line]:
        """The document's lines."""

    @property
    def currency(self) -> str:
        """ISO 4217, upper case."""

    @property
    def tax_rate(self) -> Decimal:
        """Tax on the subtotal."""


def event(record: Record, content: Priceable, size: int) -> DocumentEvent:
    """The event of an issued document: its `record`, the total of its `content`, its PDF's `size`."""
    kind = _TYPES[record.type]
    total = Priced(content.lines, content.currency, content.tax_rate).total
    return DocumentEvent(
        type="document.rendered",
        event_id=document_event_id(kind, record.number),
        document_type=kind,
        number=record.number,
        blob=record.blob,
        size=size,
        currency=content.currency,
        amount=minor_units(total, content.currency),
        occurred_at=record.issued_at or record.claimed_at,  # `issue` sets issued_at; one by hand may not
    )


def publish(events: Queue, issued: Issued, content: Priceable, documents: BlobStore) -> DocumentEvent:
    """Publish the event of what `issue` left issued; `TransientError` when the publish fails."""
    size = issued.size if issued.size is not None else stored_size(issued.record, documents)
    found = event(issued.record, content, size)
    try:
        events.send(found)
    except PermanentError as error:  # the document is issued: only its event is missing, so retry
        raise TransientError(f"{found.event_id} was not published: {error}") from error
    return found


def stored_size(record: Record, documents: BlobStore) -> int:
    """The bytes of the issued PDF, read back; `PermanentError` when its blob is gone."""
    try:
        return len(documents.get(record.blob))
    except NotFoundError as error:
        raise PermanentError(
            f"{record.type} {record.number} is issued as {record.blob}, which no longer exists: its "
            "event was not published; restore the blob and redrive this message"
        ) from error
