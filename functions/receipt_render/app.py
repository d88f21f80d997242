"""receipt-render: receipts from `receipt-requests`, invoices from order documents dropped under `orders/`.

Each document type is its own pipeline (`receipt.py`, `invoice.py`: load -> render -> store -> notify),
issued once per number through `issuance.py` (a record in `billing-state`: other content is refused),
then announced on the `documents` topic of domain-events (`publications.py`).
fpdf2, the fonts and the storage SDK that signs links load in a background thread once the server has
started, so they do not delay the app's start-up; a request that arrives earlier waits for them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings.app import FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprBlobStore, DaprPublisher, DaprQueue, DaprStateStore
from bindings.settings import Setting
from functions.common import domain_events, names
from functions.common.link_settings import LINK_SETTINGS
from functions.common.messages import ReceiptRequest, ReceiptRequested, ReceiptRequestedV2

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bindings.events import BlobEvent
    from functions.common.links import SasLinks
    from functions.receipt_render.issuance import Document
    from functions.receipt_render.publications import Priceable

_log = logging.getLogger(__name__)
# Announces each dead letter on domain-events (`DeadLetterEvent`, topic dead-letters).
app = FunctionApp(names.RECEIPT_RENDER, events=DaprPublisher(names.DOMAIN_EVENTS))
documents = DaprBlobStore(names.DOCUMENTS)
email_requests = DaprQueue(names.EMAIL_REQUESTS_OUT)
billing = DaprStateStore(names.BILLING_STATE)
clock = SystemClock()
# The documents topic of domain-events: each issued document's event (no call until a document).
document_events = domain_events.TopicQueue(DaprPublisher(names.DOMAIN_EVENTS), domain_events.DOCUMENTS)
ISSUER = Setting(
    "DOCUMENT_ISSUER", "Bindery Billing|billing@bindery.example",
    'who issues the documents: lines separated by "|" (name, address, tax number), top right of page 1',
)  # fmt: skip
SETTINGS = (ISSUER, *LINK_SETTINGS)  # the link signer reads its own on first use (`links`)


@dataclass(frozen=True)
class RenderSettings:
    """receipt-render's settings, read once at start."""

    issuer: tuple[str, ...]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RenderSettings:
        """Read the settings: the issuer's non-empty lines."""
        return cls(issuer=tuple(line.strip() for line in ISSUER.string(environ).split("|") if line.strip()))


@app.on_start
@functools.cache
def settings() -> RenderSettings:
    """The settings, from the environment at start."""
    return RenderSettings.from_env(os.environ)


@functools.cache
def links() -> SasLinks:
    """The link signer, configured from the environment on first use."""
    from functions.common.links import SasLinks  # noqa: PLC0415 - the storage SDK costs ~0.3 s of imports

    return SasLinks.from_env(names.DOCUMENTS_CONTAINER)


@app.queue(names.RECEIPT_REQUESTS, model=ReceiptRequest)
def on_receipt_requested(request: ReceiptRequested | ReceiptRequestedV2) -> None:
    """Render the receipt, store it, ask for the email with its link; bad details are dead-lettered."""
    from functions.receipt_render import receipt  # noqa: PLC0415 - fpdf loads after start-up

    wanted = receipt.load(request, billing)
    document = receipt.issued_as(wanted)
    done = _issue(
        document,
        functools.partial(receipt.render, wanted, settings().issuer),
        functools.partial(receipt.deliver, wanted),
        wanted.details,
    )
    _log.info("receipt %s %s as %s", wanted.receipt_id, done, document.blob)


@app.blob_created(names.BLOB_EVENTS, prefix=f"{names.DOCUMENTS_CONTAINER}/orders/")
def on_order_created(event: BlobEvent) -> None:
    """Render the invoice of an uploaded order; events for other blobs are ignored by the trigger."""
    from functions.receipt_render import invoice  # noqa: PLC0415 - fpdf loads after start-up

    order = invoice.load(event, documents)
    if order is None:
        return
    document = invoice.issued_as(order)
    done = _issue(
        document,
        functools.partial(invoice.render, order, settings().issuer),
        functools.partial(invoice.deliver, order),
        order.order,
    )
    _log.info("invoice %s from %s %s as %s", document.number, event.path, done, document.blob)


def _issue(
    document: Document, render: Callable[[], bytes], deliver: Callable[..., object], content: Priceable
) -> str:
    """Issue `document` once over this app's ports (`issuance.issue`), publish its event; what was done.

    The event is published again on each redelivery (counted once); a failed publish redelivers it.
    """
    from functions.receipt_render import issuance, publications  # noqa: PLC0415 - after start-up

    issued = issuance.issue(
        billing, document, clock=clock, documents=documents, render=render,
        deliver=lambda pdf: deliver(
            pdf, documents=documents, mail=email_requests, links=links(), now=clock.now()
        ),
    )  # fmt: skip
    publications.publish(document_events, issued, content, documents)
    return issued.outcome.value


def _started() -> None:
    """Once serving: load the link signer, fpdf2 and the fonts off the request path."""
    threading.Thread(target=_warm, name="warm-up", daemon=True).start()


def _warm() -> None:
    """Say now if links cannot be signed (each document would fail, then be dead-lettered); load fonts."""
    from functions.common.links import LinkConfigError  # noqa: PLC0415

    try:
        links()
    except LinkConfigError as error:
        _log.error("document links cannot be signed: %s", error)
    except Exception:  # noqa: BLE001 - e.g. a malformed connection string: logged, and fonts still load
        _log.exception("document links cannot be signed")
    from functions.receipt_render import fonts, invoice, receipt  # noqa: F401, PLC0415 - loads fpdf

    fonts.warm()


if __name__ == "__main__":
    app.run(serving=_started)
