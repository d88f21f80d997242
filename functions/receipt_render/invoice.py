"""The invoice pipeline: an order JSON dropped under `orders/` -> PDF -> `invoices/…` blob -> email link.

Storage delivers a BlobCreated event; the order is read back through the `documents` binding,
validated, drawn, stored under a name that depends only on the order, and announced by an email
request whose id is the invoice's. An invoice number is issued once, whatever the month
(`issuance.py`): the same order again changes nothing, another order under it is refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bindings.errors import PermanentError
from functions.common.messages import EmailAddress, EmailRequested
from functions.receipt_render.fields import (
    MAX_ORDER_BYTES,
    Currency,
    Lines,
    Locale,
    Party,
    TaxRate,
    email_request_id,
)
from functions.receipt_render.fingerprints import fingerprint
from functions.receipt_render.issuance import Document
from functions.receipt_render.layout import Meta, Sheet
from functions.receipt_render.words import Priced, Words, check_limits, minor_units

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bindings.events import BlobEvent
    from bindings.ports import BlobStore, Queue
    from functions.common.links import LinkSigner

TEMPLATE = "invoice"
ORDERS_PREFIX = "orders/"
_log = logging.getLogger(__name__)


class Order(BaseModel):
    """An order document as the shop uploads it (version 1): who, what, at which prices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    order_id: str = Field(pattern=r"^[A-Za-z0-9_.:@-]{1,120}$")
    invoice_number: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    issued_at: AwareDatetime
    due_at: AwareDatetime | None = None
    customer: Party
    email: EmailAddress
    locale: Locale = "en"
    currency: Currency
    lines: Lines
    tax_rate: TaxRate = Decimal(0)
    template_version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _within_limits(self) -> Order:
        # the payment limits (`functions.common.money`)
        check_limits(self.lines, self.currency, self.tax_rate)
        return self


@dataclass(frozen=True, slots=True)
class Invoice:
    """An order read from storage, with the blob it came from."""

    source: str
    order: Order

    @property
    def blob_name(self) -> str:
        """Where the PDF is stored: by month issued, one name per invoice number and template version."""
        issued = self.order.issued_at.astimezone(UTC)
        return (
            f"invoices/{issued:%Y}/{issued:%m}/{self.order.invoice_number}-v{self.order.template_version}.pdf"
        )


def load(event: BlobEvent, documents: BlobStore) -> Invoice | None:
    """The order behind `event`, or None for blobs that are not (yet) order documents."""
    if not event.blob_name.endswith(".json") or event.content_length == 0:
        _log.info("ignored %s: not a complete .json order document", event.path)
        return None
    if event.content_length is not None and event.content_length > MAX_ORDER_BYTES:
        raise PermanentError(
            f"order {event.blob_name!r} has {event.content_length} bytes; at most {MAX_ORDER_BYTES}"
        )
    body = documents.get(event.blob_name)  # PermanentError when the blob is gone
    if len(body) > MAX_ORDER_BYTES:
        raise PermanentError(f"order {event.blob_name!r} has {len(body)} bytes; at most {MAX_ORDER_BYTES}")
    try:
        order = Order.model_validate(json.loads(body.decode("utf-8-sig")))
    except (ValueError, ValidationError) as error:
        raise PermanentError(f"order {event.blob_name!r} is not a valid order document: {error}") from error
    return Invoice(event.blob_name, order)


def issued_as(invoice: Invoice) -> Document:
    """What issuing `invoice` binds: its number, whatever the month, to the validated order and blob."""
    order = invoice.order
    return Document(TEMPLATE, order.invoice_number, fingerprint(order), invoice.blob_name)


def render(invoice: Invoice, issuer: Sequence[str] = ()) -> bytes:
    """The invoice's PDF in the order's template version, `issuer`'s lines at the top right.

    `PermanentError` for a template version this build lacks.
    """
    draw = _TEMPLATES.get(invoice.order.template_version)
    if draw is None:
        known = ", ".join(f"v{v}" for v in sorted(_TEMPLATES))
        raise PermanentError(f"unknown invoice template v{invoice.order.template_version} (known: {known})")
    return draw(invoice.order, issuer)


def deliver(
    invoice: Invoice, pdf: bytes, *, documents: BlobStore, mail: Queue, links: LinkSigner, now: datetime
) -> str:
    """Store the PDF under its final name, then ask for the email holding its link; return the name."""
    order = invoice.order
    documents.put(
        invoice.blob_name,
        pdf,
        content_type="application/pdf",
        metadata={"template": TEMPLATE, "templateversion": str(order.template_version)},
    )
    url = links.url(invoice.blob_name, expires=now + timedelta(days=7))
    mail.send(
        EmailRequested(
            # The document's name, not the order's: a re-issued order (new number) is a new email.
            request_id=email_request_id("invoice", f"{order.invoice_number}-v{order.template_version}"),
            template=TEMPLATE,
            locale=order.locale,
            to=order.email,
            data={
                "amount": minor_units(_priced(order).total, order.currency),
                "currency": order.currency,
                "url": url,
                "invoice_number": order.invoice_number,
            },
        )
    )
    return invoice.blob_name


def _v1(order: Order, issuer: Sequence[str]) -> bytes:
    words = Words(order.locale)
    priced = _priced(order)
    rows, sums = priced.rows(words), priced.sums(words, words["total"])
    bill_to = (order.customer.name, *order.customer.address)
    fields = [
        (words["invoice_number"], order.invoice_number),
        (words["order"], order.order_id),
        (words["issued"], words.date(order.issued_at)),
        *([(words["due"], words.date(order.due_at))] if order.due_at else []),
    ]
    texts = [*bill_to, *(cell for row in rows for cell in row), *(value for _, value in [*fields, *sums])]
    title = f"{words['invoice']} {order.invoice_number}"
    sheet = Sheet(
        Meta(order.invoice_number, title, TEMPLATE, 1, order.issued_at, order.locale), words, texts, issuer
    )
    sheet.title(title)
    sheet.fields([(words["bill_to"], "")])
    sheet.block(bill_to, bold_first=True)
    sheet.fields(fields)
    sheet.items(words.line_headings(), rows)
    sheet.totals(sums)
    return sheet.output()


def _priced(order: Order) -> Priced:
    return Priced(order.lines, order.currency, order.tax_rate)


_TEMPLATES: dict[int, Callable[[Order, Sequence[str]], bytes]] = {1: _v1}
