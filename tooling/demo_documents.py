"""The documents part of `make demo`: receipts for recovered payments, an invoice for an uploaded order.

Each PDF is matched to the captured mail whose body holds its link, so the summary shows that every
document reached its customer as a link, never as an attachment.
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from functions.common import names
from tooling import upload
from tooling.paths import project_root
from tooling.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable
    from email.message import EmailMessage

    from tooling.stack import Stack

EXAMPLE_ORDER = "examples/orders/ord-1001.json"


def run(stack: Stack, receipts: int, *, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Upload the example order, wait for `receipts` receipts and the invoice, and their mails."""
    say(f"4. documents: {receipts} receipts for the recovered payments, an invoice for an uploaded order")
    event = upload.upload(stack.blob_service(), stack.queue_service(), project_root() / EXAMPLE_ORDER)
    say(f"   `bindery upload {EXAMPLE_ORDER}` -> {event['subject'].rsplit('/blobs/', 1)[1]} + BlobCreated")
    container = stack.blob_service().get_container_client(names.DOCUMENTS_CONTAINER)

    def pdfs() -> list[str]:
        return sorted(b.name for b in container.list_blobs() if b.name.endswith(".pdf"))

    eventually(lambda: len(pdfs()) >= receipts + 1, "the receipt and invoice PDFs", 90)
    eventually(lambda: all(_mail_with(stack, n) for n in pdfs()), "the mails with the document links", 90)
    rows = []
    for name in pdfs():
        mail = _mail_with(stack, name)
        assert mail is not None  # noqa: S101 - waited for above
        size = container.get_blob_client(name).get_blob_properties().size
        rows.append({"pdf": f"{names.DOCUMENTS_CONTAINER}/{name}", "bytes": size, "mail": mail})
    return rows


def describe(rows: list[dict[str, Any]]) -> list[str]:
    """Summary lines: each PDF, and the mail that links to it."""
    lines = [f"  documents         {len(rows)} PDFs, each linked (not attached) in one mail"]
    for row in rows:
        lines.append(f"    - {row['pdf']} ({row['bytes'] / 1024:.0f} KiB)")
        lines.append(f"        linked in: {row['mail']}")
    return lines


def _mail_with(stack: Stack, blob_name: str) -> str | None:
    """`to: subject` of the captured mail whose body links to `blob_name`, if any."""
    if not stack.mail_dir.exists():
        return None
    wanted = quote(blob_name)
    for path in sorted(stack.mail_dir.glob("*.eml")):
        mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if wanted in _body(mail) and not any(part.get_filename() for part in mail.walk()):
            return f"{mail['X-Bindery-Envelope-To']}: {mail['Subject']}"
    return None


def _body(mail: EmailMessage) -> str:
    return "\n".join(
        str(part.get_content()) for part in mail.walk() if part.get_content_maintype() == "text"
    ).replace("&amp;", "&")
