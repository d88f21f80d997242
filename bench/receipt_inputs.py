"""What the receipt render bench draws: a five-line v2 receipt for a customer name, invoices by page count."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING

from bindings.testing import MemoryStateStore
from functions.common.messages import ReceiptRequestedV2
from functions.receipt_render import invoice, receipt

if TYPE_CHECKING:
    from collections.abc import Callable

NAMES = {"latin": "Jürgen Weiß", "arabic": "محمد عبد الله الحسن", "hebrew": "שרה לוי־כהן", "cjk": "王小明"}
_ADDRESS = ["Hauptstraße 1", "10115 Berlin"]
ISSUER = ("Bindery Billing", "billing@bindery.example")  # the app's default DOCUMENT_ISSUER


def receipt_loader(name: str) -> Callable[[], receipt.Receipt]:
    """Loading a v2 receipt of five lines for customer `name`, as the pipeline loads it."""
    details = {
        "receipt_number": "R-2026-0007",
        "customer": {"name": name, "address": _ADDRESS},
        "paid_at": "2026-03-04T05:06:00Z",
        "currency": "EUR",
        "lines": [
            {"description": "Pro plan, March", "quantity": "1", "unit_price": "49.00"},
            {"description": "Extra seats", "quantity": "3", "unit_price": "7.50"},
            {"description": "Storage, 200 GB", "quantity": "2", "unit_price": "4.99"},
            {"description": "Priority support", "quantity": "1", "unit_price": "19.00"},
            {"description": "Credit for February outage", "quantity": "1", "unit_price": "0.00"},
        ],
        "tax_rate": "0.19",
        "payment_method": "Visa •••• 4242",
    }
    store = MemoryStateStore()
    store.save("receipt:rcpt-7", json.dumps(details).encode())
    request = ReceiptRequestedV2(
        request_id="rq-7", receipt_id="rcpt-7", details_key="receipt:rcpt-7", customer_id="cus_7",
        email="bo@example.com", locale="en",
    )  # fmt: skip
    return partial(receipt.load, request, store)


def lines_for(pages: int) -> int:
    """Invoice lines that fill `pages` pages: the first holds 19 lines under its header, each next 31."""
    return 15 + 31 * (pages - 1)


def invoice_order(lines: int) -> invoice.Order:
    """An order document of `lines` consulting lines, validated as the pipeline validates it."""
    return invoice.Order.model_validate({
        "order_id": "ord-1", "invoice_number": "INV-2026-001", "issued_at": "2026-03-04T10:00:00Z",
        "due_at": "2026-04-03T10:00:00Z", "customer": {"name": NAMES["latin"], "address": _ADDRESS},
        "email": "bo@example.com", "currency": "EUR", "tax_rate": "0.19",
        "lines": [{"description": f"Consulting, week {n}", "quantity": "3", "unit_price": "120.00"}
                  for n in range(1, lines + 1)],
    })  # fmt: skip
