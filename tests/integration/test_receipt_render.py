"""receipt_render through the real daprd and Azurite: requests and uploads become PDFs and linked emails."""

from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bindings.messages import DeadLetter
from functions.common import names
from functions.common.messages import EmailRequested
from tooling import deadletters, upload
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """receipt-render alone: its email requests stay on the queue for the tests to read."""
    return stack_factory(apps=[AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app")])


def email_requests(stack: Stack) -> list[EmailRequested]:
    """Every email request on the queue so far (peeked, so they stay for later reads)."""
    queue = stack.queue_service().get_queue_client(names.EMAIL_REQUESTS)
    return [EmailRequested.model_validate_json(m.content) for m in queue.peek_messages(max_messages=32)]


def request_for(stack: Stack, request_id: str) -> EmailRequested | None:
    """The email request with `request_id`, once it is on the queue."""
    return next((m for m in email_requests(stack) if m.request_id == request_id), None)


def blob(stack: Stack, name: str) -> bytes | None:
    """The bytes of a blob in the documents container, or None."""
    client = stack.blob_service().get_blob_client(names.DOCUMENTS_CONTAINER, name)
    return client.download_blob().readall() if client.exists() else None


def download(url: str) -> bytes:
    """GET a link the way a customer's browser would."""
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback URL, checked above
        return bytes(response.read())


def logged(stack: Stack, text: str) -> bool:
    """Whether receipt-render has logged a line holding `text`."""
    return text in (stack.log_dir / f"{names.RECEIPT_RENDER}.log").read_text()


def dead_letter_for(stack: Stack, text: str) -> DeadLetter | None:
    """The dead letter whose original body is `text`, if any."""
    for stored in deadletters.records(stack.blob_service(), stack.resources):
        if stored.record.body == text.encode():
            return stored.record
    return None


def test_a_receipt_request_becomes_a_pdf_blob_and_an_email_whose_link_downloads_it(stack: Stack) -> None:
    """Request -> blob with metadata under its final name -> email request whose SAS link serves it."""
    tag = uuid.uuid4().hex[:8]
    body = {
        "version": 1, "request_id": f"c-{tag}:receipt", "payment_id": f"c-{tag}", "customer_id": "cus_1",
        "email": f"ann-{tag}@example.com", "amount": 4990, "currency": "EUR",
        "paid_at": "2026-03-04T05:06:07Z", "locale": "de",
    }  # fmt: skip
    queue = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    queue.send_message(json.dumps(body))
    name = f"receipts/2026/03/c-{tag}-v1.pdf"
    pdf = eventually(lambda: blob(stack, name), "the receipt blob", timeout=60)
    assert pdf.startswith(b"%PDF-")
    properties = stack.blob_service().get_blob_client(names.DOCUMENTS_CONTAINER, name).get_blob_properties()
    assert properties.content_settings.content_type == "application/pdf"
    # daprd also copies the gRPC call's headers (user agent, traceparent, …) into blob metadata; the
    # API token is not among them.
    assert {k: properties.metadata[k] for k in ("template", "templateversion")} == {
        "template": "receipt",
        "templateversion": "1",
    }
    assert stack.dapr_token
    assert not [k for k, v in properties.metadata.items() if "token" in k or stack.dapr_token in v]
    mail = eventually(lambda: request_for(stack, f"receipt:c-{tag}"), "the email request")
    assert (mail.template, mail.to, mail.locale) == ("receipt", body["email"], "de")
    assert mail.data["amount"] == 4990
    assert download(str(mail.data["url"])) == pdf
    queue.send_message(json.dumps(body))  # resent: already issued, so nothing is stored or asked for
    eventually(lambda: logged(stack, f"receipt c-{tag} already issued"), "the resend's log line")
    assert len([m for m in email_requests(stack) if m.request_id == mail.request_id]) == 1
    assert blob(stack, name) == pdf


def test_a_v2_request_reads_its_details_from_billing_state_through_the_sidecar(stack: Stack) -> None:
    """The billing system's details (saved via daprd's state API) decide lines and total."""
    tag = uuid.uuid4().hex[:8]
    details = {
        "receipt_number": f"R-{tag}", "customer": {"name": "山田 太郎"}, "paid_at": "2026-04-01T09:00:00Z",
        "currency": "JPY", "lines": [{"description": "年間プラン", "unit_price": "12000"}], "tax_rate": "0.1",
    }  # fmt: skip
    running = stack.apps[names.RECEIPT_RENDER]
    save = urllib.request.Request(
        f"http://127.0.0.1:{running.ports.http}/v1.0/state/{names.BILLING_STATE}",
        data=json.dumps([{"key": f"receipt:{tag}", "value": details}]).encode(),
        headers={"Content-Type": "application/json", "dapr-api-token": stack.dapr_token or ""},
    )
    with urllib.request.urlopen(save, timeout=10) as response:  # noqa: S310
        assert response.status == 204
    request = {
        "version": 2, "request_id": f"rq-{tag}", "receipt_id": f"r-{tag}", "details_key": f"receipt:{tag}",
        "customer_id": "cus_2", "email": f"taro-{tag}@example.com", "locale": "ja",
    }  # fmt: skip
    stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS).send_message(json.dumps(request))
    mail = eventually(lambda: request_for(stack, f"receipt:r-{tag}"), "the email request", timeout=60)
    assert mail.data["amount"] == 13200
    assert blob(stack, f"receipts/2026/04/r-{tag}-v1.pdf") == download(str(mail.data["url"]))


def test_an_uploaded_order_becomes_an_invoice_and_an_invoice_email(stack: Stack, tmp_path: Path) -> None:
    """`bindery upload`'s Event Grid emulation drives the invoice pipeline end to end."""
    tag = uuid.uuid4().hex[:8]
    order = {
        "order_id": f"o-{tag}", "invoice_number": f"INV-{tag}", "issued_at": "2026-05-02T12:00:00Z",
        "customer": {"name": "محمد علي", "address": ["Dubai"]}, "email": f"m-{tag}@example.com",
        "currency": "AED", "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "500"}],
    }  # fmt: skip
    path = tmp_path / f"o-{tag} Ünï #1 (copy) +%.json"  # odd but literal characters in the blob name
    path.write_text(json.dumps(order))
    upload.upload(stack.blob_service(), stack.queue_service(), path)
    mail = eventually(lambda: request_for(stack, f"invoice:INV-{tag}-v1"), "the invoice email", timeout=60)
    assert mail.template == "invoice"
    assert mail.data["invoice_number"] == f"INV-{tag}"
    assert mail.data["amount"] == 100000
    assert download(str(mail.data["url"])) == blob(stack, f"invoices/2026/05/INV-{tag}-v1.pdf")


def events(stack: Stack, *texts: str) -> None:
    """Put raw messages on blob-events."""
    queue = stack.queue_service().get_queue_client(names.BLOB_EVENTS)
    for text in texts:
        queue.send_message(text)


def test_events_for_vanished_blobs_are_dead_lettered_and_other_prefixes_ignored(stack: Stack) -> None:
    """A deleted order or a dot-segment name is dead-lettered with the reason; other prefixes are skipped."""
    tag = uuid.uuid4().hex[:8]
    gone = upload.queue_text(upload.blob_created("documents", f"orders/gone-{tag}.json", length=10))
    elsewhere = upload.queue_text(upload.blob_created("documents", f"receipts/x-{tag}.pdf", length=10))
    sneaky = upload.queue_text(upload.blob_created("documents", f"orders/../secret-{tag}.json", length=10))
    events(stack, elsewhere, gone, sneaky)
    traversal = eventually(lambda: dead_letter_for(stack, sneaky), "the traversal dead letter", timeout=60)
    assert traversal.kind == "invalid"
    assert "'.' or '..' segment" in traversal.reason
    letter = eventually(lambda: dead_letter_for(stack, gone), "the dead letter", timeout=60)
    assert letter.kind == "permanent"
    assert f"orders/gone-{tag}.json" in letter.reason
    log = stack.log_dir / f"{names.RECEIPT_RENDER}.log"
    eventually(lambda: f"receipts/x-{tag}.pdf does not match" in log.read_text(), "the ignored event")
    assert dead_letter_for(stack, elsewhere) is None
    decoded: dict[str, Any] = json.loads(base64.b64decode(gone))
    assert decoded["eventType"] == "Microsoft.Storage.BlobCreated"


def test_an_issued_invoice_is_never_overwritten_and_its_resend_changes_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    """Other lines under an issued number, or another month, are dead-lettered; the same order is a no-op."""
    tag = uuid.uuid4().hex[:8]
    order = {
        "order_id": f"o-{tag}", "invoice_number": f"INV-{tag}", "issued_at": "2026-05-02T12:00:00Z",
        "customer": {"name": "Ann Example"}, "email": f"a-{tag}@example.com", "currency": "EUR",
        "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "500"}],
    }  # fmt: skip
    path = tmp_path / f"o-{tag}.json"
    path.write_text(json.dumps(order))
    upload.upload(stack.blob_service(), stack.queue_service(), path)
    request_id = f"invoice:INV-{tag}-v1"
    mail = eventually(lambda: request_for(stack, request_id), "the invoice email", timeout=60)
    name = f"invoices/2026/05/INV-{tag}-v1.pdf"
    pdf = blob(stack, name)
    assert pdf is not None
    assert download(str(mail.data["url"])) == pdf

    changed = order | {"lines": [{"description": "Consulting", "quantity": "20", "unit_price": "500"}]}
    path.write_text(json.dumps(changed))  # the same order document, re-uploaded with other lines
    event = upload.upload(stack.blob_service(), stack.queue_service(), path)
    letter = eventually(lambda: dead_letter_for(stack, upload.queue_text(event)), "the refusal", timeout=60)
    assert letter.kind == "permanent"
    assert f"invoice INV-{tag} is already issued" in letter.reason
    assert "with other content" in letter.reason
    assert name in letter.reason

    may = tmp_path / f"o-{tag}-june.json"  # the same number issued again in another month
    may.write_text(json.dumps(order | {"issued_at": "2026-06-02T12:00:00Z"}))
    event = upload.upload(stack.blob_service(), stack.queue_service(), may)
    letter = eventually(lambda: dead_letter_for(stack, upload.queue_text(event)), "the refusal", timeout=60)
    assert f"invoice INV-{tag} is already issued" in letter.reason

    path.write_text(json.dumps(order))  # the identical order again: nothing changes
    upload.upload(stack.blob_service(), stack.queue_service(), path)
    eventually(lambda: logged(stack, f"already issued as {name}"), "the resend's log line", timeout=60)
    assert blob(stack, name) == pdf
    assert blob(stack, f"invoices/2026/06/INV-{tag}-v1.pdf") is None
    assert len([m for m in email_requests(stack) if m.request_id == request_id]) == 1
    assert download(str(mail.data["url"])) == pdf


def test_a_second_receipt_for_a_paid_payment_with_another_amount_is_refused(stack: Stack) -> None:
    """A receipt mailed as EUR 29.00 stays so: a request saying 99.00 is dead-lettered, nothing stored."""
    tag = uuid.uuid4().hex[:8]
    body = {
        "version": 1, "request_id": f"c-{tag}:receipt", "payment_id": f"c-{tag}", "customer_id": "cus_1",
        "email": f"ann-{tag}@example.com", "amount": 2900, "currency": "EUR",
        "paid_at": "2026-03-04T05:06:07Z", "locale": "en",
    }  # fmt: skip
    queue = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    queue.send_message(json.dumps(body))
    mail = eventually(lambda: request_for(stack, f"receipt:c-{tag}"), "the email request", timeout=60)
    name = f"receipts/2026/03/c-{tag}-v1.pdf"
    pdf = blob(stack, name)
    assert pdf is not None
    assert mail.data["amount"] == 2900
    other = json.dumps(body | {"amount": 9900, "request_id": f"c-{tag}:receipt:2"})
    queue.send_message(other)
    letter = eventually(lambda: dead_letter_for(stack, other), "the refusal", timeout=60)
    assert letter.kind == "permanent"
    assert f"receipt c-{tag} is already issued" in letter.reason
    assert blob(stack, name) == pdf
    assert download(str(mail.data["url"])) == pdf
    assert [m.data["amount"] for m in email_requests(stack) if m.request_id == mail.request_id] == [2900]
