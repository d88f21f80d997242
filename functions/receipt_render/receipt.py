"""The receipt pipeline: request -> details -> PDF -> `receipts/…` blob -> an email request with its link.

Version 1 requests (from dunning) carry the payment itself; version 2 requests name a key in
`billing-state` where the billing system left the details. A receipt's blob name and bytes depend
only on the request and its details. A receipt id is issued once (`issuance.py`, keyed on the id
alone): the same content again changes nothing, other content is refused before anything is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bindings.errors import PermanentError
from functions.common import money
from functions.common.messages import EmailRequested, ReceiptRequested, ReceiptRequestedV2
from functions.receipt_render.fields import Currency, Line, Lines, Party, TaxRate, Text, email_request_id
from functions.receipt_render.fingerprints import fingerprint
from functions.receipt_render.issuance import Document
from functions.receipt_render.layout import Meta, Sheet
from functions.receipt_render.words import Priced, Words, check_limits, minor_units

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bindings.ports import BlobStore, Queue, StateStore
    from functions.common.links import LinkSigner

TEMPLATE = "receipt"
_LOCALE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class ReceiptDetails(BaseModel):
    """What the billing system leaves in `billing-state` for a version 2 request (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    receipt_number: str = Field(pattern=r"^[A-Za-z0-9_.:@/-]{1,120}$")
    customer: Party
    paid_at: AwareDatetime
    currency: Currency
    lines: Lines
    tax_rate: TaxRate = Decimal(0)
    payment_method: Text = ""

    @model_validator(mode="after")
    def _within_limits(self) -> ReceiptDetails:
        check_limits(self.lines, self.currency, self.tax_rate)
        return self


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt ready to draw: who asked, for whom, and the details."""

    receipt_id: str
    request_id: str
    email: str
    locale: str
    template_version: int
    details: ReceiptDetails

    @property
    def blob_name(self) -> str:
        """Where the PDF is stored: by month paid, one name per receipt and template version."""
        paid = self.details.paid_at.astimezone(UTC)
        return f"receipts/{paid:%Y}/{paid:%m}/{self.receipt_id}-v{self.template_version}.pdf"


def load(request: ReceiptRequested | ReceiptRequestedV2, billing: StateStore) -> Receipt:
    """The receipt a request asks for; `PermanentError` when its details are missing or invalid."""
    if isinstance(request, ReceiptRequested):
        if not _LOCALE.fullmatch(request.locale):  # version 1 left the locale unchecked
            raise PermanentError(
                f"receipt request {request.request_id}: locale {request.locale[:40]!r} is not a locale"
            )
        currency = request.currency.upper()
        paid_at = request.paid_at if request.paid_at.tzinfo else request.paid_at.replace(tzinfo=UTC)
        try:
            amount = money.to_amount(request.amount, currency)  # the request checked currency and limits
            details = ReceiptDetails(
                receipt_number=request.payment_id,
                customer=Party(name=request.customer_id),
                paid_at=paid_at,
                currency=currency,
                lines=(Line(description=Words(request.locale)["subscription_payment"], unit_price=amount),),
            )
        except ValueError as error:  # pydantic's ValidationError and money's UnknownCurrencyError
            raise PermanentError(
                f"receipt request {request.request_id} cannot be a receipt: {error}"
            ) from error
        return Receipt(request.payment_id, request.request_id, request.email, request.locale, 1, details)
    item = billing.get(request.details_key)
    if item.value is None:
        raise PermanentError(f"no receipt details under {request.details_key!r} in billing-state")
    try:
        details = ReceiptDetails.model_validate(json.loads(item.value))
    except (ValueError, ValidationError) as error:
        raise PermanentError(f"receipt details {request.details_key!r} are invalid: {error}") from error
    return Receipt(
        request.receipt_id,
        request.request_id,
        request.email,
        request.locale,
        request.template_version,
        details,
    )


def issued_as(receipt: Receipt) -> Document:
    """What issuing `receipt` binds: its id (the payment's receipt) to its content and blob.

    The content is what the receipt is made of (details, template version, locale, recipient), not
    the request that asked for it (its request id) and not the PDF's bytes.
    """
    content = {
        "receipt_id": receipt.receipt_id,
        "email": receipt.email,
        "locale": receipt.locale,
        "template_version": receipt.template_version,
        "details": receipt.details,
    }
    return Document(TEMPLATE, receipt.receipt_id, fingerprint(content), receipt.blob_name)


def render(receipt: Receipt, issuer: Sequence[str] = ()) -> bytes:
    """The receipt's PDF in its template version, `issuer`'s lines at the top right.

    `PermanentError` for a template version this build lacks.
    """
    draw = _TEMPLATES.get(receipt.template_version)
    if draw is None:
        known = ", ".join(f"v{v}" for v in sorted(_TEMPLATES))
        raise PermanentError(f"unknown receipt template v{receipt.template_version} (known: {known})")
    return draw(receipt, issuer)


def deliver(
    receipt: Receipt, pdf: bytes, *, documents: BlobStore, mail: Queue, links: LinkSigner, now: datetime
) -> str:
    """Store the PDF under its final name, then ask for the email holding its link; return the name."""
    documents.put(
        receipt.blob_name,
        pdf,
        content_type="application/pdf",
        metadata={"template": TEMPLATE, "templateversion": str(receipt.template_version)},
    )
    details = receipt.details
    total = _priced(details).total
    url = links.url(receipt.blob_name, expires=now + timedelta(days=7))
    mail.send(
        EmailRequested(
            request_id=email_request_id("receipt", receipt.receipt_id),
            template=TEMPLATE,
            locale=receipt.locale,
            to=receipt.email,
            data={"amount": minor_units(total, details.currency), "currency": details.currency, "url": url},
        )
    )
    return receipt.blob_name


def _v1(receipt: Receipt, issuer: Sequence[str]) -> bytes:
    details, words = receipt.details, Words(receipt.locale)
    priced = _priced(details)
    rows, sums = priced.rows(words), priced.sums(words, words["total_paid"])
    customer = (details.customer.name, *details.customer.address)
    fields = [
        (words["receipt_number"], details.receipt_number),
        (words["paid_on"], words.date(details.paid_at)),
        *([(words["paid_with"], details.payment_method)] if details.payment_method else []),
    ]
    texts = [*customer, *(cell for row in rows for cell in row), *(v for _, v in [*fields, *sums])]
    meta = Meta(
        receipt.receipt_id, f"{words['receipt']} {details.receipt_number}", TEMPLATE, 1,
        details.paid_at, receipt.locale,
    )  # fmt: skip
    sheet = Sheet(meta, words, texts, issuer)
    sheet.title(words["receipt"])
    sheet.block(customer, bold_first=True)
    sheet.fields(fields)
    sheet.items(words.line_headings(), rows)
    sheet.totals(sums)
    sheet.block(["", words["thanks"]])
    return sheet.output()


def _priced(details: ReceiptDetails) -> Priced:
    return Priced(details.lines, details.currency, details.tax_rate)


_TEMPLATES: dict[int, Callable[[Receipt, Sequence[str]], bytes]] = {1: _v1}
