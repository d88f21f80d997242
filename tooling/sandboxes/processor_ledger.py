"""The card-processor sandbox's records: control bodies, the ledger and the invoices, as JSON-lines files.

The ledger holds one JSON `LedgerLine` per executed Stripe request (a PaymentIntent or an invoice
payment, declined or not). Each line carries the body of the first answer given for its idempotency
key, so a restarted sandbox still replays a key it answered before. The invoices file, next to the
ledger (`ledger.jsonl` → `ledger.invoices.jsonl`), holds one `InvoiceRecord` per invoice created;
an invoice's state (open or paid, attempts) is derived from its ledger lines, so the two files never
disagree. Lines that do not parse (say, half-written by a crash) are skipped with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

_log = logging.getLogger(__name__)

Outcome = Literal["ok", "soft", "hard", "fraud", "advice", "auth", "timeout", "5xx"]


class ScriptRequest(BaseModel):
    """The body of `POST /v1/script`: outcomes to queue for a customer."""

    model_config = ConfigDict(strict=True, extra="forbid")
    customer: str = Field(min_length=1)
    outcomes: list[Outcome]


class InvoiceRequest(BaseModel):
    """The body of `POST /v1/sandbox/invoices`: an open invoice for a customer (of a subscription).

    `metadata` is the Invoice's; a record written before it existed loads without (none).
    """

    model_config = ConfigDict(strict=True, extra="forbid")
    customer: str = Field(pattern=r"^cus_[A-Za-z0-9_]{1,240}$")
    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    subscription: str | None = Field(default=None, pattern=r"^sub_[A-Za-z0-9_]{1,240}$")
    # Stripe's metadata limits: at most 50 keys, a key 1-40 characters, a value at most 500.
    metadata: (
        dict[Annotated[str, Field(min_length=1, max_length=40)], Annotated[str, Field(max_length=500)]] | None
    ) = Field(default=None, max_length=50)


class FailRequest(BaseModel):
    """The body of `POST /v1/sandbox/invoices/{id}/fail`: how Stripe's automatic attempt declined."""

    model_config = ConfigDict(strict=True, extra="forbid")
    outcome: Literal["soft", "hard", "fraud", "advice", "auth"]
    # When the attempt failed (Unix seconds; default now): the event's `created`, as for an event
    # Stripe delivers late. The demo replays a failure of yesterday, so its first retry is due.
    created: int | None = Field(default=None, gt=0)


class WebhookRequest(BaseModel):
    """The body of `POST /v1/sandbox/webhook`: where to post Stripe-signed events, and the signing secret."""

    model_config = ConfigDict(strict=True, extra="forbid")
    url: str = Field(pattern=r"^https?://[^\s]+$")
    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9_]+$")


class InvoiceRecord(InvoiceRequest):
    """A created invoice, as the invoices file keeps it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    time: str


def encode(body: object) -> bytes:
    """Serialise a JSON body the one way the sandbox answers, so a replay is byte-identical."""
    return json.dumps(body, separators=(",", ":")).encode()


def fingerprint(method: str, path: str, pairs: list[tuple[str, str]]) -> str:
    """The SHA-256 of a request's method, path and sorted form pairs: what a key may be reused with."""
    canonical = json.dumps([method, path, sorted(pairs)], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class LedgerLine(BaseModel):
    """One executed request: what it charged, the outcome and the answer stored under its key.

    `charge` is the reference the engine records: the PaymentIntent id, or the invoice id in invoice mode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str
    fingerprint: str
    customer: str
    amount: int
    currency: str
    case_id: str
    attempt: int
    outcome: str
    status: int
    charge: str
    time: str
    response: dict[str, Any]
    mode: Literal["payment_intent", "invoice"] = "payment_intent"
    invoice: str | None = None


Line = TypeVar("Line", bound=BaseModel)


class JsonLines(Generic[Line]):
    """An append-only JSON-lines file of one model, mirrored in memory."""

    def __init__(self, path: Path, model: type[Line]) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._lines: list[Line] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._reload(model)

    def _reload(self, model: type[Line]) -> None:
        content = self._path.read_text(encoding="utf-8")
        if content and not content.endswith("\n"):  # a torn last line must not swallow the next append
            with self._path.open("a", encoding="utf-8") as file:
                file.write("\n")
        for number, text in enumerate(content.splitlines(), start=1):
            if not text.strip():
                continue
            try:
                self._remember(model.model_validate_json(text))
            except ValidationError:
                _log.warning("%s line %d is not a %s; skipped", self._path, number, model.__name__)
        _log.info("%s: reloaded %d lines", self._path, len(self._lines))

    def _remember(self, line: Line) -> None:
        self._lines.append(line)

    def append(self, line: Line) -> None:
        """Write a line to the file, then remember it."""
        with self._lock, self._path.open("a", encoding="utf-8") as file:
            file.write(line.model_dump_json() + "\n")
            self._remember(line)

    def all(self) -> list[Line]:
        """Every line, in the order written."""
        with self._lock:
            return list(self._lines)


class Ledger(JsonLines[LedgerLine]):
    """The ledger file, indexed by idempotency key."""

    def __init__(self, path: Path) -> None:
        self._by_key: dict[str, LedgerLine] = {}
        super().__init__(path, LedgerLine)

    def _remember(self, line: LedgerLine) -> None:
        super()._remember(line)
        self._by_key.setdefault(line.key, line)

    def find(self, key: str) -> LedgerLine | None:
        """Return the line recorded under an idempotency key, if any."""
        with self._lock:
            return self._by_key.get(key)

    def lines(self, customer: str | None = None) -> list[LedgerLine]:
        """Return the lines in the order written, only the customer's if one is given."""
        return [line for line in self.all() if customer is None or line.customer == customer]


class Invoices(JsonLines[InvoiceRecord]):
    """The invoices file, indexed by invoice id."""

    def __init__(self, path: Path) -> None:
        self._by_id: dict[str, InvoiceRecord] = {}
        super().__init__(path, InvoiceRecord)

    def _remember(self, line: InvoiceRecord) -> None:
        super()._remember(line)
        self._by_id[line.id] = line

    def find(self, invoice: str) -> InvoiceRecord | None:
        """Return the invoice with this id, if it was created."""
        with self._lock:
            return self._by_id.get(invoice)


def invoices_path(ledger_path: Path) -> Path:
    """Where the invoices of the sandbox with this ledger live: `ledger.jsonl` → `ledger.invoices.jsonl`."""
    return ledger_path.with_name(ledger_path.stem + ".invoices.jsonl")
