"""What was issued stays issued: every document type's number is issued once, with one content, for good."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from bindings.clock import VirtualClock
from bindings.errors import PermanentError, TransientError
from bindings.events import parse_blob_event
from bindings.testing import MemoryBlobStore, MemoryQueue, MemoryStateStore
from functions.common import names
from functions.common.messages import EmailRequested, ReceiptRequested, ReceiptRequestedV2
from functions.common.testing import UnsignedLinks
from functions.receipt_render import invoice, issuance, receipt

if TYPE_CHECKING:
    from collections.abc import Callable

START = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


class CountingBlobStore(MemoryBlobStore):
    """A `MemoryBlobStore` that counts the writes of each blob."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: dict[str, int] = {}

    def put(
        self, name: str, data: bytes, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Count, then store (or raise `fail`)."""
        self.writes[name] = self.writes.get(name, 0) + 1
        super().put(name, data, content_type=content_type, metadata=metadata)


class FailingQueue(MemoryQueue):
    """A `MemoryQueue` whose next send raises once `fail` is set (then it is cleared)."""

    def send(self, message: Any) -> None:
        """Raise `fail` once, else record."""
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        super().send(message)


@dataclass
class Desk:
    """The ports receipt-render works with, in memory."""

    billing: MemoryStateStore = field(default_factory=MemoryStateStore)
    documents: CountingBlobStore = field(default_factory=CountingBlobStore)
    mail: FailingQueue = field(default_factory=lambda: FailingQueue(names.EMAIL_REQUESTS_OUT))
    clock: VirtualClock = field(default_factory=lambda: VirtualClock(START))

    def pdfs(self) -> dict[str, bytes]:
        """The documents written (order uploads left out)."""
        return {n: b[0] for n, b in self.documents.blobs.items() if not n.startswith(invoice.ORDERS_PREFIX)}

    def emails(self) -> list[EmailRequested]:
        """The email requests sent."""
        return [m for m in self.mail.sent if isinstance(m, EmailRequested)]

    def record(self, key: str) -> dict[str, Any]:
        """The issuance record under `key`."""
        value = self.billing.get(key).value
        assert value is not None, key
        loaded: dict[str, Any] = json.loads(value)
        return loaded


def run_receipt(desk: Desk, request: ReceiptRequested | ReceiptRequestedV2) -> issuance.Outcome:
    """What `app.on_receipt_requested` does, over the desk's ports."""
    wanted = receipt.load(request, desk.billing)
    return issuance.issue(
        desk.billing,
        receipt.issued_as(wanted),
        clock=desk.clock,
        documents=desk.documents,
        render=lambda: receipt.render(wanted),
        deliver=lambda pdf: receipt.deliver(
            wanted, pdf, documents=desk.documents, mail=desk.mail, links=UnsignedLinks(), now=desk.clock.now()
        ),
    ).outcome


def run_invoice(desk: Desk, order: dict[str, Any], blob: str = "orders/ord-1.json") -> issuance.Outcome:
    """Upload `order` as `blob`, then do what `app.on_order_created` does."""
    desk.documents.blobs[blob] = (json.dumps(order).encode(), "application/json", {})  # the shop's upload
    event = parse_blob_event(
        {
            "id": "ev-1", "eventType": "Microsoft.Storage.BlobCreated",
            "subject": f"/blobServices/default/containers/documents/blobs/{blob}",
            "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z",
            "eventTime": "2026-03-04T10:00:01Z",
            "data": {"api": "PutBlob", "contentLength": 100, "sequencer": "01"},
        }
    )  # fmt: skip
    loaded = invoice.load(event, desk.documents)
    assert loaded is not None
    return issuance.issue(
        desk.billing,
        invoice.issued_as(loaded),
        clock=desk.clock,
        documents=desk.documents,
        render=lambda: invoice.render(loaded),
        deliver=lambda pdf: invoice.deliver(
            loaded, pdf, documents=desk.documents, mail=desk.mail, links=UnsignedLinks(), now=desk.clock.now()
        ),
    ).outcome


def an_order(**overrides: Any) -> dict[str, Any]:
    """An order document as a shop uploads it."""
    return {
        "order_id": "ord-1",
        "invoice_number": "INV-2026-001",
        "issued_at": "2026-03-04T10:00:00Z",
        "customer": {"name": "Zoë Ångström", "address": ["1 Main St"]},
        "email": "zoe@example.com",
        "currency": "EUR",
        "lines": [{"description": "Widget", "quantity": "2", "unit_price": "9.995"}],
        "tax_rate": "0.19",
    } | overrides


def a_dunning_receipt(**overrides: Any) -> ReceiptRequested:
    """Dunning's receipt request for payment case-1 (€29.00)."""
    fields = {
        "request_id": "case-1:receipt", "payment_id": "case-1", "customer_id": "cus_9",
        "email": "ann@example.com", "amount": 2900, "currency": "EUR",
        "paid_at": "2026-03-04T05:06:00Z", "locale": "en",
    }  # fmt: skip
    return ReceiptRequested.model_validate(fields | overrides)


def billing_details(desk: Desk, key: str, **overrides: Any) -> None:
    """Leave receipt details under `key` in billing-state, as the billing system does."""
    details = {
        "receipt_number": "R-2026-0007",
        "customer": {"name": "Jürgen Weiß"},
        "paid_at": "2026-03-04T05:06:00Z",
        "currency": "EUR",
        "lines": [{"description": "Pro plan, March", "quantity": "1", "unit_price": "49.00"}],
    } | overrides
    desk.billing.save(key, json.dumps(details).encode())


def a_billing_receipt(desk: Desk, key: str = "receipt:rcpt-7", **overrides: Any) -> ReceiptRequestedV2:
    """A version 2 request for receipt rcpt-7 whose details (with `overrides`) wait under `key`."""
    billing_details(desk, key, **overrides)
    return ReceiptRequestedV2(
        request_id=f"rq-{key}", receipt_id="rcpt-7", details_key=key, customer_id="cus_7",
        email="bo@example.com",
    )  # fmt: skip


PRO_PLAN_AT_99 = [{"description": "Pro plan, March", "quantity": "1", "unit_price": "99.00"}]


@dataclass(frozen=True)
class Kind:
    """One document type as the tests drive it: the first issue, a changed one, one in another month."""

    key: str
    blob: str
    first: Callable[[Desk], issuance.Outcome]
    changed: Callable[[Desk], issuance.Outcome]
    other_month: Callable[[Desk], issuance.Outcome]


KINDS = {
    "invoice": Kind(
        "issued:invoice:INV-2026-001",
        "invoices/2026/03/INV-2026-001-v1.pdf",
        lambda d: run_invoice(d, an_order()),
        lambda d: run_invoice(
            d, an_order(lines=[{"description": "Widget", "quantity": "20", "unit_price": "9.995"}])
        ),
        lambda d: run_invoice(d, an_order(issued_at="2026-04-02T10:00:00Z"), "orders/ord-1-april.json"),
    ),
    "dunning receipt": Kind(
        "issued:receipt:case-1",
        "receipts/2026/03/case-1-v1.pdf",
        lambda d: run_receipt(d, a_dunning_receipt()),
        lambda d: run_receipt(d, a_dunning_receipt(amount=9900)),  # the issue's €29.00 -> €99.00
        lambda d: run_receipt(d, a_dunning_receipt(paid_at="2026-04-01T05:06:00Z")),
    ),
    "billing receipt": Kind(
        "issued:receipt:rcpt-7",
        "receipts/2026/03/rcpt-7-v1.pdf",
        lambda d: run_receipt(d, a_billing_receipt(d)),
        lambda d: run_receipt(d, a_billing_receipt(d, "receipt:rcpt-7:v2", lines=PRO_PLAN_AT_99)),
        lambda d: run_receipt(d, a_billing_receipt(d, paid_at="2026-04-01T05:06:00Z")),
    ),
}
every_kind = pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))


@every_kind
def test_the_same_content_twice_writes_one_blob_and_asks_for_one_email(kind: Kind) -> None:
    """A redelivered or resent request for an issued document changes nothing and mails nothing."""
    desk = Desk()
    assert kind.first(desk) is issuance.Outcome.ISSUED
    pdf = desk.pdfs()[kind.blob]
    desk.clock.advance(timedelta(days=3))
    assert kind.first(desk) is issuance.Outcome.ALREADY_ISSUED
    assert desk.documents.writes[kind.blob] == 1
    assert desk.pdfs() == {kind.blob: pdf}
    assert len(desk.emails()) == 1


@every_kind
def test_other_content_under_an_issued_number_is_refused_before_anything_is_stored(kind: Kind) -> None:
    """Changed lines or amount: PermanentError naming the number, the PDF untouched, no second email."""
    desk = Desk()
    kind.first(desk)
    pdf, record = desk.pdfs()[kind.blob], desk.record(kind.key)
    with pytest.raises(PermanentError, match=r"already issued .* with other content") as refused:
        kind.changed(desk)
    assert record["number"] in str(refused.value)
    assert kind.blob in str(refused.value)
    assert desk.documents.writes[kind.blob] == 1
    assert desk.pdfs() == {kind.blob: pdf}
    assert len(desk.emails()) == 1
    assert desk.record(kind.key) == record


@every_kind
def test_the_same_number_in_another_month_is_the_same_number(kind: Kind) -> None:
    """A second month's document under an issued number is refused: no PDF appears under another folder."""
    desk = Desk()
    kind.first(desk)
    with pytest.raises(PermanentError, match="already issued"):
        kind.other_month(desk)
    assert list(desk.pdfs()) == [kind.blob]
    assert len(desk.emails()) == 1


@every_kind
def test_the_issuance_record_keeps_number_content_hash_blob_and_times(kind: Kind) -> None:
    """billing-state holds `issued:{type}:{number}` -> the content's sha256, the blob and when."""
    desk = Desk()
    kind.first(desk)
    record = desk.record(kind.key)
    assert record == {
        "version": 1,
        "type": kind.key.split(":")[1],
        "number": kind.key.split(":", 2)[2],
        "sha256": record["sha256"],
        "blob": kind.blob,
        "state": "issued",
        "claimed_at": "2026-03-04T11:00:00Z",
        "issued_at": "2026-03-04T11:00:00Z",
    }
    assert len(record["sha256"]) == 64
    assert int(record["sha256"], 16) >= 0


@every_kind
def test_a_crash_between_the_record_and_the_upload_is_finished_by_the_redelivery(kind: Kind) -> None:
    """The number is claimed, the upload fails; the same request again stores, mails and completes."""
    desk = Desk()
    desk.documents.fail = TransientError("storage is down")
    with pytest.raises(TransientError):
        kind.first(desk)
    assert desk.record(kind.key)["state"] == "issuing"
    assert (desk.pdfs(), desk.emails()) == ({}, [])
    desk.documents.fail = None
    desk.clock.advance(timedelta(minutes=5))
    assert kind.first(desk) is issuance.Outcome.RESUMED
    assert list(desk.pdfs()) == [kind.blob]
    assert len(desk.emails()) == 1
    record = desk.record(kind.key)
    assert (record["state"], record["claimed_at"], record["issued_at"]) == (
        "issued", "2026-03-04T11:00:00Z", "2026-03-04T11:05:00Z",
    )  # fmt: skip


@every_kind
def test_a_crash_between_the_upload_and_the_email_is_finished_by_the_redelivery(kind: Kind) -> None:
    """The PDF is stored, the email request fails; the redelivery re-stores the same bytes and asks once."""
    desk = Desk()
    desk.mail.fail = TransientError("queue is down")
    with pytest.raises(TransientError):
        kind.first(desk)
    pdf = desk.pdfs()[kind.blob]
    assert desk.emails() == []
    assert kind.first(desk) is issuance.Outcome.RESUMED
    assert desk.pdfs() == {kind.blob: pdf}
    assert len(desk.emails()) == 1
    assert desk.record(kind.key)["state"] == "issued"


@every_kind
def test_a_crash_while_claiming_leaves_other_content_refused_but_the_same_content_welcome(kind: Kind) -> None:
    """A claimed, unfinished number binds its content too: other content is refused, the same is finished."""
    desk = Desk()
    desk.documents.fail = TransientError("storage is down")
    with pytest.raises(TransientError):
        kind.first(desk)
    desk.documents.fail = None
    with pytest.raises(PermanentError, match="with other content"):
        kind.changed(desk)
    assert (desk.pdfs(), desk.emails()) == ({}, [])
    assert kind.first(desk) is issuance.Outcome.RESUMED
    assert len(desk.emails()) == 1


@every_kind
def test_two_replicas_racing_with_different_content_issue_only_one(kind: Kind) -> None:
    """Both read no record; the first to claim issues, the other loses the first-write and is refused."""
    desk = Desk()
    racer = Desk(billing=desk.billing, documents=desk.documents, mail=desk.mail, clock=desk.clock)
    real_get = desk.billing.get
    armed, raced = [True], list[issuance.Outcome]()

    def get_then_lose_the_race(key: str) -> Any:
        item = real_get(key)
        if key == kind.key and armed:  # this replica read "absent"; the other one claims right after
            armed.clear()
            raced.append(kind.first(racer))
        return item

    desk.billing.get = get_then_lose_the_race  # type: ignore[method-assign]
    with pytest.raises(PermanentError, match="with other content"):
        kind.changed(desk)
    assert raced == [issuance.Outcome.ISSUED]
    assert desk.documents.writes == {kind.blob: 1}
    assert len(desk.emails()) == 1


@every_kind
def test_a_document_that_cannot_be_rendered_claims_no_number(
    kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render failure (here: an unknown template) leaves no record, so the corrected request is issued."""
    desk = Desk()

    def fail(*_: Any) -> bytes:
        raise PermanentError("unknown template v9")

    with monkeypatch.context() as patched:
        patched.setattr(receipt, "render", fail)
        patched.setattr(invoice, "render", fail)
        with pytest.raises(PermanentError, match="unknown template"):
            kind.first(desk)
    assert desk.billing.get(kind.key).value is None
    assert kind.first(desk) is issuance.Outcome.ISSUED


def test_content_is_the_validated_data_not_its_spelling() -> None:
    """`9.995` and `9.9950`, reordered keys and `Z` or `+00:00` are one content: the resend is idempotent."""
    desk = Desk()
    run_invoice(desk, an_order())
    spelled = an_order(
        lines=[{"unit_price": "9.9950", "quantity": "2.0", "description": "Widget"}],
        issued_at="2026-03-04T10:00:00+00:00",
        tax_rate="0.190",
    )
    assert run_invoice(desk, spelled, "orders/ord-1-again.json") is issuance.Outcome.ALREADY_ISSUED
    assert len(desk.emails()) == 1


def test_content_is_not_the_pdf_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-render whose bytes differ (a font or library upgrade) of the same content is the same document."""
    desk = Desk()
    desk.documents.fail = TransientError("storage is down")
    with pytest.raises(TransientError):
        run_receipt(desk, a_dunning_receipt())
    desk.documents.fail = None
    monkeypatch.setattr(receipt, "render", lambda *_: b"%PDF-1.7 upgraded renderer")
    assert run_receipt(desk, a_dunning_receipt()) is issuance.Outcome.RESUMED
    assert desk.pdfs() == {"receipts/2026/03/case-1-v1.pdf": b"%PDF-1.7 upgraded renderer"}


def test_a_request_id_is_transport_not_content() -> None:
    """Dunning resending its receipt under another request id is the same receipt: nothing changes."""
    desk = Desk()
    run_receipt(desk, a_dunning_receipt())
    again = a_dunning_receipt(request_id="case-1:receipt:resent")
    assert run_receipt(desk, again) is issuance.Outcome.ALREADY_ISSUED
    assert len(desk.emails()) == 1


def test_receipts_and_invoices_have_separate_numbers() -> None:
    """An invoice and a receipt may share a number: each type has its own records."""
    desk = Desk()
    run_invoice(desk, an_order(invoice_number="case-1"))
    assert run_receipt(desk, a_dunning_receipt()) is issuance.Outcome.ISSUED
    assert desk.billing.keys("issued:") == ["issued:invoice:case-1", "issued:receipt:case-1"]


def test_a_record_that_is_not_an_issuance_record_is_refused_not_overwritten() -> None:
    """Garbage under an issuance key is a permanent error that names the key; it is left as it was."""
    desk = Desk()
    desk.billing.save("issued:receipt:case-1", b"not json")
    with pytest.raises(PermanentError, match="issued:receipt:case-1"):
        run_receipt(desk, a_dunning_receipt())
    assert desk.billing.get("issued:receipt:case-1").value == b"not json"
    assert desk.pdfs() == {}


@every_kind
def test_a_document_stored_before_records_were_kept_is_never_overwritten(kind: Kind) -> None:
    """A blob already under the name with no record (issued by an older release) is refused, not replaced."""
    desk = Desk()
    kind.first(desk)
    before, emails = desk.pdfs()[kind.blob], len(desk.emails())
    desk.billing.delete(kind.key)  # as an older release left it: the PDF, no record
    with pytest.raises(PermanentError, match="no issuance record") as refused:
        kind.changed(desk)
    assert kind.blob in str(refused.value)
    assert desk.pdfs()[kind.blob] == before
    assert desk.documents.writes[kind.blob] == 1
    assert len(desk.emails()) == emails
    assert desk.billing.get(kind.key).value is None
