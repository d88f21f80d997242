"""The processor sandbox's engine: idempotent execution of Stripe requests, scripts and invoices.

`Sandbox.execute` runs one `POST /v1/payment_intents` or `POST /v1/invoices/{id}/pay` under one lock:
replay or idempotency check, validation, outcome, ledger line. No HTTP here (see `processor`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tooling.sandboxes import processor_ledger as records
from tooling.sandboxes import processor_params as params
from tooling.sandboxes import processor_stripe as stripe
from tooling.sandboxes.processor_stripe import Answer, Refusal

INTENTS = "/v1/payment_intents"
PAY = re.compile(r"^/v1/invoices/(?P<invoice>[^/]*)/pay$")
_PREFIX = re.compile(
    r"^cus_(?:recover(?P<recover>\d+)|(?P<outcome>ok|soft|hard|fraud|advice|auth|timeout|5xx))_"
)
_ENDPOINT = (
    "Keys for idempotent requests can only be used for the same endpoint they were first used for "
    "('{then}' vs '{now}'). Try using a key other than '{key}' if you meant to execute a different request."
)
_PARAMETERS = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)


@dataclass(frozen=True, slots=True)
class Call:
    """A Stripe request to execute: its path, idempotency key and form pairs (as `parse_qsl` gives them)."""

    path: str
    key: str
    pairs: list[tuple[str, str]]


def _fail(refusal: Refusal) -> Answer:
    return Answer(refusal.status, records.encode(refusal.body))


def key_attempt(key: str) -> tuple[str, int]:
    """The case id and attempt an idempotency key `{case_id}:{attempt}` names; `(key, 0)` if it names none."""
    case_id, colon, attempt = key.rpartition(":")
    return (case_id, int(attempt)) if colon and case_id and attempt.isdigit() else (key, 0)


class Sandbox:
    """The sandbox's state: the ledger, the invoices and the scripted outcome queues."""

    def __init__(self, ledger: records.Ledger, invoices: records.Invoices, timeout_seconds: float) -> None:
        self.ledger = ledger
        self.invoices = invoices
        self.timeout_seconds = timeout_seconds
        self.base_url = "http://127.0.0.1"  # the server sets its port: hosted invoice URLs point here
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[str]] = {}

    def script(self, request: records.ScriptRequest) -> None:
        """Replace the customer's queue of outcomes."""
        with self._lock:
            self._scripts[request.customer] = deque(request.outcomes)

    def create_invoice(self, request: records.InvoiceRequest) -> dict[str, Any]:
        """Create an open invoice and return its Invoice object."""
        stamp = datetime.now(UTC).isoformat()
        record = records.InvoiceRecord(id=stripe.new_id("in"), time=stamp, **request.model_dump())
        with self._lock:
            self.invoices.append(record)
            return self._invoice(record)

    def invoice(self, invoice_id: str) -> dict[str, Any] | None:
        """The Invoice object of a created invoice, else None."""
        record = self.invoices.find(invoice_id)
        with self._lock:
            return None if record is None else self._invoice(record)

    def _invoice(self, record: records.InvoiceRecord, *, paying: bool = False) -> dict[str, Any]:
        lines = [line for line in self.ledger.all() if line.invoice == record.id]
        paid = paying or any(line.status == 200 for line in lines)  # noqa: PLR2004 - HTTP OK
        url = f"{self.base_url}/i/{record.id}"
        return stripe.invoice(record.model_dump(), paid=paid, attempts=len(lines) + paying, url=url)

    def execute(self, call: Call) -> Answer:
        """Replay the key's stored answer, or validate, decide, record and answer; stall after a `timeout`."""
        digest = records.fingerprint("POST", call.path, call.pairs)
        with self._lock:
            seen = self.ledger.find(call.key)
            if seen is not None:
                return self._replay(seen, call, digest)
            try:
                line = self._run(call, digest)
            except Refusal as refusal:
                return _fail(refusal)
        if line.outcome == "timeout":
            time.sleep(self.timeout_seconds)
        return Answer(line.status, records.encode(line.response))

    def _replay(self, seen: records.LedgerLine, call: Call, digest: str) -> Answer:
        then = INTENTS if seen.mode == "payment_intent" else f"/v1/invoices/{seen.invoice}/pay"
        if then != call.path:
            message = _ENDPOINT.format(then=then, now=call.path, key=call.key)
            return _fail(Refusal(400, message, "idempotency_error"))
        if seen.fingerprint != digest:
            return _fail(Refusal(400, _PARAMETERS.format(key=call.key), "idempotency_error"))
        return Answer(seen.status, records.encode(seen.response), replayed=True)

    def _run(self, call: Call, digest: str) -> records.LedgerLine:
        match = PAY.match(call.path)
        record = None
        if match is None:
            intent = params.intent_params(call.pairs)
            metadata = {"case_id": intent.case_id, "attempt": str(intent.attempt)}
        else:
            payment_method = params.pay_params(call.pairs)
            record = self.invoices.find(match["invoice"])
            if record is None:
                message = f"No such invoice: '{match['invoice']}'"
                raise Refusal(404, message, code="resource_missing", param="invoice")
            if self._invoice(record)["status"] == "paid":
                raise Refusal(400, "Invoice is already paid")
            case_id, attempt = key_attempt(call.key)
            intent = stripe.Intent(
                record.amount, record.currency, record.customer, payment_method, case_id, attempt
            )
            metadata = {}
        outcome = self._decide(intent.customer)
        if outcome == "5xx":
            raise Refusal(500, "Scripted processor failure; nothing was charged.", "api_error")
        pi = stripe.payment_intent(intent, stripe.new_id("pi"), stripe.new_id("ch"), outcome, metadata)
        status, response = (402, stripe.card_error(pi)) if outcome in stripe.DECLINES else (200, pi)
        if record is not None and status == 200:  # noqa: PLR2004 - HTTP OK
            response = self._invoice(record, paying=True)
        invoice_id = None if record is None else record.id
        line = records.LedgerLine(
            key=call.key, fingerprint=digest, customer=intent.customer, amount=intent.amount,
            currency=intent.currency, case_id=intent.case_id, attempt=intent.attempt, outcome=outcome,
            status=status, charge=invoice_id or pi["id"], time=datetime.now(UTC).isoformat(),
            response=response, mode="payment_intent" if invoice_id is None else "invoice", invoice=invoice_id,
        )  # fmt: skip
        self.ledger.append(line)
        return line

    def _decide(self, customer: str) -> str:
        queue = self._scripts.get(customer)
        if queue:
            return queue.popleft()
        match = _PREFIX.match(customer)
        if match is None:
            return "ok"
        if match["recover"] is not None:
            return "soft" if len(self.ledger.lines(customer)) < int(match["recover"]) else "ok"
        return match["outcome"]
