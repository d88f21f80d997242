"""The documents topic's event: a receipt or an invoice issued by receipt-render (`DocumentEvent`).

Published on `domain_events.DOCUMENTS` once the document's issuance record says `issued`
(`functions/receipt_render/publications.py`); `docs/architecture.md` (*Domain events*) has the table.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from bindings.messages import Message
from functions.common import money

DocumentType = Literal["receipt", "invoice"]
# The number a document is issued under: a receipt's id (the payment's for dunning's), an invoice's number.
DOCUMENT_NUMBER = r"^[A-Za-z0-9_.:@/-]{1,120}$"


def document_event_id(document_type: DocumentType, number: str) -> str:
    """The id of a document's issue: `{receipt|invoice}:{number}:rendered` (a number is issued once)."""
    return f"{document_type}:{number}:rendered"


class DocumentEvent(Message):
    """A document issued (version 1): receipt-render rendered, stored and recorded a receipt or an invoice.

    Published once the document's issuance record says `issued`, and again whenever its request or
    upload is redelivered, with the same id and content: all of it is read from what was stored.
    `number` is the number it is issued under (a receipt's id, an invoice's number), `blob` the PDF's
    name in the documents container and `size` its bytes; `amount` is the document's total (minor
    units of `currency`, tax included); `occurred_at` is when the record says the document was issued:
    the day it is counted under.
    """

    version: Literal[1] = 1
    type: Literal["document.rendered"]
    event_id: str = Field(
        pattern=r"^(receipt|invoice):[A-Za-z0-9_.:@/-]{1,120}:rendered$",
        description="deterministic: see `document_event_id`",
    )
    document_type: DocumentType
    number: str = Field(pattern=DOCUMENT_NUMBER)
    blob: str = Field(pattern=r"^[A-Za-z0-9_.:@/-]{1,1024}$")
    size: int = Field(gt=0, description="the PDF's bytes")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: int = Field(ge=0, le=money.MAX_MINOR, description="minor units of `currency`")
    occurred_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> DocumentEvent:
        expected = document_event_id(self.document_type, self.number)
        if self.event_id != expected:
            raise ValueError(f"event_id of this {self.document_type} is {expected!r}, not {self.event_id!r}")
        return self
