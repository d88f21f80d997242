"""The shipped examples (examples/) rendered by each template: for golden images, PDF/A and embedding."""

from __future__ import annotations

import json
from pathlib import Path

from bindings.testing import MemoryStateStore
from functions.common.messages import ReceiptRequestedV2
from functions.receipt_render import invoice, receipt

ROOT = Path(__file__).resolve().parents[3]
ISSUER = ("Bindery Billing GmbH", "Torstraße 1, 10119 Berlin", "VAT DE123456789")


def receipt_sample(**changes: object) -> bytes:
    """The example receipt (examples/receipts), `changes` made to its details, rendered from a v2 request."""
    details = json.loads((ROOT / "examples" / "receipts" / "rcpt-2001.json").read_text()) | changes
    store = MemoryStateStore()
    store.save("receipt:rcpt-2001", json.dumps(details).encode())
    request = ReceiptRequestedV2(
        request_id="rq-2001", receipt_id="rcpt-2001", details_key="receipt:rcpt-2001",
        customer_id="cus_2001", email="taro@example.com", locale="en-US",
    )  # fmt: skip
    return receipt.render(receipt.load(request, store), ISSUER)


def invoice_sample() -> bytes:
    """The example order (examples/orders) as its invoice."""
    document = json.loads((ROOT / "examples" / "orders" / "ord-1001.json").read_text())
    order = invoice.Order.model_validate(document)
    return invoice.render(invoice.Invoice("orders/ord-1001.json", order), ISSUER)


SAMPLES = {"receipt-v1": receipt_sample, "invoice-v1": invoice_sample}
