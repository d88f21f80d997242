"""Documents for the cross-field tests: both templates with chosen text fields set, the rest Latin.

Also fields filled to their maxima with each script's wide glyphs, and lines at the money limits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from functions.common import money
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


# Wide glyphs of each script we ship fonts for (full-width forms for CJK).
WIDE = {
    "latin": "WŴ@Ŵ",
    "greek": "ΩΨΦΩ",
    "cyrillic": "ЖЩШЮ",
    "japanese": "山田ＷＭ",
    "korean": "김민준뷁",
    "chinese": "张伟龘鑫",
    "arabic": "محمد",
    "hebrew": "שלום",
}
NAME, TEXT, DESCRIPTION = 200, 300, 200  # fields.Name, fields.Text and a line's description
ISSUER = 200  # DOCUMENT_ISSUER lines are configuration, unchecked: as long as a name
ISSUER_LINES = ("Bindery Billing GmbH", "VAT DE123456789")


def filled(script: str, length: int) -> str:
    """`length` characters of `script`'s wide glyphs: one unbreakable run of half, then spaced words."""
    glyphs = WIDE[script]
    solid = (glyphs * length)[: length // 2]
    words = " ".join([glyphs * 2] * length)[: length - len(solid) - 1].rstrip()
    text = f"{solid} {words}"
    return text + glyphs[0] * (length - len(text))


def invoice_case(fields: dict[str, str], issuer: list[str]) -> bytes:
    """An invoice whose `fields` (name, address, description, invoice_number, order_id) are set."""
    customer = {"name": fields.get("name", "Zoë Ångström"), "address": ["1 Main St", "Springfield"]}
    if "address" in fields:
        customer["address"] = [fields["address"]] * 6
    changes: dict[str, Any] = {"customer": customer}
    if "description" in fields:
        changes["lines"] = [{"description": fields["description"], "quantity": "2", "unit_price": "100.00"}]
    changes |= {key: fields[key] for key in ("invoice_number", "order_id") if key in fields}
    loaded = invoice.load(event(), stored(order(**changes)))
    assert loaded is not None
    return invoice.render(loaded, issuer)


def receipt_case(fields: dict[str, str], issuer: list[str]) -> bytes:
    """A receipt with `fields` set (name, address, description, payment method, receipt number and id)."""
    changes: dict[str, Any] = {}
    if "name" in fields or "address" in fields:
        address = [fields["address"]] * 6 if "address" in fields else ["Hauptstraße 1"]
        changes["customer"] = {"name": fields.get("name", "Jürgen Weiß"), "address": address}
    if "description" in fields:
        changes["lines"] = [{"description": fields["description"], "quantity": "2", "unit_price": "100.00"}]
    changes |= {key: fields[key] for key in ("payment_method", "receipt_number") if key in fields}
    request = v2(receipt_id=fields.get("receipt_id", "rcpt-7"))
    return receipt.render(receipt.load(request, store_with("receipt:rcpt-7", details(**changes))), issuer)


def top_lines(currency: str) -> tuple[list[dict[str, str]], str]:
    """Lines at the money limits, and a tax rate; the total just under the limit.

    The longest quantity; 1,000 times the largest unit price that allows; the largest unit price with
    all four decimals.
    """
    top = money.to_amount(money.MAX_MINOR, currency)
    step = Decimal(1).scaleb(-money.precision(currency))
    thousandth = (top * Decimal("0.4") / 1000).quantize(step, rounding="ROUND_DOWN")
    unit = (top * Decimal("0.45")).quantize(Decimal(1)) + Decimal("0.4949")
    return [
        {"description": "Longest quantity", "quantity": "999999.999", "unit_price": "0.0001"},
        {"description": "A thousand at the most", "quantity": "1000", "unit_price": str(thousandth)},
        {"description": "One at the most, every decimal", "quantity": "1", "unit_price": str(unit)},
    ], "0.1"
