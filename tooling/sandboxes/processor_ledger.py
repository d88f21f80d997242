"""The card-processor sandbox's records: request bodies, Stripe-shaped answers, the ledger.

The ledger is a file of one JSON `LedgerLine` a created charge. Each line carries the body of
the first response given for its idempotency key, so a restarted sandbox still replays a key it
answered before. Lines that do not parse (say, half-written by a crash) are skipped with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

_log = logging.getLogger(__name__)

_DECLINES: dict[str, dict[str, str]] = {
    "soft": {"code": "card_declined", "decline_code": "insufficient_funds"},
    "hard": {"code": "expired_card"},
    "fraud": {"code": "card_declined", "decline_code": "stolen_card"},
    "advice": {"code": "card_declined", "decline_code": "do_not_honor", "advice_code": "try_again_later"},
}
Outcome = Literal["ok", "soft", "hard", "fraud", "advice", "timeout", "5xx"]


class ScriptRequest(BaseModel):
    """The body of `POST /v1/script`: outcomes to queue for a customer."""

    model_config = ConfigDict(strict=True, extra="forbid")
    customer: str = Field(min_length=1)
    outcomes: list[Outcome]


class ChargeRequest(BaseModel):
    """The body of `POST /v1/charges`; strict, and unknown fields are refused as Stripe does."""

    model_config = ConfigDict(strict=True, extra="forbid")
    customer: str = Field(min_length=1)
    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    case_id: str = Field(min_length=1)
    attempt: int = Field(ge=0)


def encode(body: object) -> bytes:
    """Serialise a JSON body the one way the sandbox answers, so a replay is byte-identical."""
    return json.dumps(body, separators=(",", ":")).encode()


def fingerprint(body: object) -> str:
    """Return the SHA-256 of the body's canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def error_body(kind: str, message: str, **fields: str) -> dict[str, Any]:
    """Return a Stripe error object: `{"error": {"type": kind, **fields, "message": message}}`."""
    return {"error": {"type": kind, **fields, "message": message}}


def charge_answer(outcome: str, charge_id: str, request: ChargeRequest) -> tuple[int, dict[str, Any]]:
    """Return the status and body for a created charge: 402 for a decline outcome, else 200."""
    if outcome in _DECLINES:
        message = "Your card has expired." if outcome == "hard" else "Your card was declined."
        return 402, error_body("card_error", message, **_DECLINES[outcome], charge=charge_id)
    metadata = {"case_id": request.case_id, "attempt": request.attempt}
    return 200, {
        "id": charge_id, "object": "charge", "status": "succeeded", "amount": request.amount,
        "currency": request.currency, "customer": request.customer, "metadata": metadata,
    }  # fmt: skip


class LedgerLine(BaseModel):
    """One created charge: the request, the outcome and the response stored under its key."""

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


class Ledger:
    """An append-only JSON-lines file, mirrored in memory and indexed by idempotency key."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._lines: list[LedgerLine] = []
        self._by_key: dict[str, LedgerLine] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._reload()

    def _reload(self) -> None:
        content = self._path.read_text(encoding="utf-8")
        if content and not content.endswith("\n"):  # a torn last line must not swallow the next append
            with self._path.open("a", encoding="utf-8") as file:
                file.write("\n")
        for number, text in enumerate(content.splitlines(), start=1):
            if not text.strip():
                continue
            try:
                self._remember(LedgerLine.model_validate_json(text))
            except ValidationError:
                _log.warning("ledger %s line %d is not a ledger line; skipped", self._path, number)
        _log.info("ledger %s: reloaded %d charges", self._path, len(self._lines))

    def _remember(self, line: LedgerLine) -> None:
        self._lines.append(line)
        self._by_key.setdefault(line.key, line)

    def find(self, key: str) -> LedgerLine | None:
        """Return the line recorded under an idempotency key, if any."""
        with self._lock:
            return self._by_key.get(key)

    def append(self, line: LedgerLine) -> None:
        """Write a line to the file, then remember it."""
        with self._lock, self._path.open("a", encoding="utf-8") as file:
            file.write(line.model_dump_json() + "\n")
            self._remember(line)

    def lines(self, customer: str | None = None) -> list[LedgerLine]:
        """Return the lines in the order written, only the customer's if one is given."""
        with self._lock:
            return [line for line in self._lines if customer is None or line.customer == customer]
