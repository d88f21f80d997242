"""Documents for the cross-field tests: both templates with one chosen text field set, the rest Latin."""

from __future__ import annotations

from typing import Any

from functions.receipt_render import invoice, receipt
from tests.unit.receipt_render.test_invoice import event, order, stored
from tests.unit.receipt_render.test_receipt import details, store_with, v2

INVOICE_FIELDS = ("name", "address0", "address1", "description", "issuer")
RECEIPT_FIELDS = ("name", "address0", "description", "payment_method", "issuer")
LOCATIONS = {  # where validation errors place each field
    "name": "customer.name",
    "address0": "customer.address.0",
    "address1": "customer.address.1",
    "description": "lines.0.description",
    "payment_method": "payment_method",
}
_ISSUER = ("Bindery Billing GmbH", "VAT DE123456789")


def _issuer(field: str, text: str) -> list[str]:
    return [text, *_ISSUER[1:]] if field == "issuer" else list(_ISSUER)


def invoice_order(field: str, text: str) -> dict[str, Any]:
    """An order document with `text` in `field` (an issuer line is not part of the order)."""
    customer: dict[str, Any] = {"name": "Zoë Ångström", "address": ["1 Main St", "Springfield"]}
    lines = [{"description": "Widget", "quantity": "2", "unit_price": "100.00"}]
    if field == "name":
        customer["name"] = text
    elif field.startswith("address"):
        customer["address"][int(field[-1])] = text
    elif field == "description":
        lines.insert(0, {"description": text, "quantity": "2", "unit_price": "100.00"})
    return order(customer=customer, lines=lines)


def receipt_details(field: str, text: str) -> dict[str, Any]:
    """Receipt details with `text` in `field` (an issuer line is not part of the details)."""
    changes: dict[str, Any] = {}
    if field == "name":
        changes["customer"] = {"name": text, "address": ["Hauptstraße 1"]}
    elif field == "address0":
        changes["customer"] = {"name": "Jürgen Weiß", "address": [text, "10115 Berlin"]}
    elif field == "description":
        changes["lines"] = [{"description": text, "quantity": "2", "unit_price": "100.00"}]
    elif field == "payment_method":
        changes["payment_method"] = text
    return details(**changes)


def load_invoice(field: str, text: str) -> invoice.Invoice:
    """The order with `text` in `field`, loaded (and validated) as the pipeline does."""
    loaded = invoice.load(event(), stored(invoice_order(field, text)))
    assert loaded is not None
    return loaded


def load_receipt(field: str, text: str) -> receipt.Receipt:
    """The receipt details with `text` in `field`, loaded (and validated) from a v2 request."""
    return receipt.load(v2(), store_with("receipt:rcpt-7", receipt_details(field, text)))


def invoice_pdf(field: str, text: str) -> bytes:
    """The invoice with `text` in `field`, every other field Latin."""
    return invoice.render(load_invoice(field, text), _issuer(field, text))


def receipt_pdf(field: str, text: str) -> bytes:
    """The receipt with `text` in `field`, every other field Latin."""
    return receipt.render(load_receipt(field, text), _issuer(field, text))
