"""The processor sandbox's engine: idempotent execution of Stripe requests, scripts and invoices.

`Sandbox.execute` runs one `POST /v1/payment_intents` or `POST /v1/invoices/{id}/pay` under one lock:
replay or idempotency check, validation, outcome, ledger line; an invoice paid emits `invoice.paid`.
`fail_invoice` records a failed automatic attempt (Stripe Billing's own) and emits
`invoice.payment_failed`; `invoice_payments` lists an invoice's attempts as InvoicePayments. Events are
kept in `events` (delivered or not) and go through `webhooks` (`processor_webhooks`), after the ledger
line is written. No HTTP here (see `processor`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tooling.sandboxes import processor_ledger as records
from tooling.sandboxes import processor_params as params
from tooling.sandboxes import processor_stripe as stripe
from tooling.sandboxes.processor_stripe import Answer, Refusal
from tooling.sandboxes.processor_webhooks import Webhooks

if TYPE_CHECKING:
    from tooling.sandboxes.processor_events import Events

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

    def __init__(
        self, ledger: records.Ledger, invoices: records.Invoices, timeout_seconds: float, events: Events
    ) -> None:
        self.ledger = ledger
        self.invoices = invoices
        self.events = events  # every event emitted, delivered or not: `GET /v1/events` lists them
        self.timeout_seconds = timeout_seconds
        self.base_url = "http://127.0.0.1"  # the server sets its port: hosted invoice URLs point here
        self.webhooks = Webhooks(journal=events.keep)
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
        paid_at = next((stripe.seconds(line.time) for line in lines if line.status == 200), None)  # noqa: PLR2004
        paid_at = int(time.time()) if paying else paid_at
        url = f"{self.base_url}/i/{record.id}"
        return stripe.invoice(record.model_dump(), paid_at=paid_at, attempts=len(lines) + paying, url=url)

    def fail_invoice(self, invoice_id: str, request: records.FailRequest) -> dict[str, Any]:
        """Record a declined automatic attempt (key `auto:{id}:{n}`), emit `invoice.payment_failed`."""
        with self._lock:
            record = self._open(invoice_id)
            attempt = self._invoice(record)["attempt_count"] + 1
            key = f"auto:{record.id}:{attempt}"
            intent = stripe.Intent(
                record.amount, record.currency, record.customer, None, f"auto:{record.id}", attempt
            )
            pi = stripe.payment_intent(intent, stripe.new_id("pi"), stripe.new_id("ch"), request.outcome, {})
            digest = records.fingerprint("POST", f"/v1/sandbox/invoices/{record.id}/fail", [])
            self._record(
                key, digest, intent, request.outcome, (402, stripe.card_error(pi)), invoice_id=record.id
            )
            failed = self._invoice(record)
        self.webhooks.emit("invoice.payment_failed", failed, request.created)
        return failed

    def invoice_payments(self, invoice_id: str, limit: int, *, expand: bool) -> dict[str, Any]:
        """The invoice's attempts as a Stripe list of InvoicePayments, newest first; 404 if unknown."""
        if self.invoices.find(invoice_id) is None:
            raise Refusal(404, f"No such invoice: '{invoice_id}'", code="resource_missing", param="invoice")
        lines = [line for line in reversed(self.ledger.all()) if line.invoice == invoice_id]
        payments = [stripe.invoice_payment(line.model_dump(), expand=expand) for line in lines]
        url = "/v1/invoice_payments"
        return {"object": "list", "data": payments[:limit], "has_more": len(payments) > limit, "url": url}

    def _open(self, invoice_id: str) -> records.InvoiceRecord:
        record = self.invoices.find(invoice_id)
        if record is None:
            raise Refusal(404, f"No such invoice: '{invoice_id}'", code="resource_missing", param="invoice")
        if self._invoice(record)["status"] == "paid":
            raise Refusal(400, "Invoice is already paid")
        return record

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
        if line.mode == "invoice" and line.status == 200:  # noqa: PLR2004 - HTTP OK
            self.webhooks.emit("invoice.paid", line.response)
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
            record = self._open(match["invoice"])
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
        return self._record(
            call.key,
            digest,
            intent,
            outcome,
            (status, response),
            invoice_id=None if record is None else record.id,
        )

    def _record(
        self, key: str, digest: str, intent: stripe.Intent, outcome: str, answer: tuple[int, dict[str, Any]],
        *, invoice_id: str | None,
    ) -> records.LedgerLine:  # fmt: skip
        status, response = answer
        charge = invoice_id or response.get("id") or response["error"]["payment_intent"]["id"]
        line = records.LedgerLine(
            key=key, fingerprint=digest, customer=intent.customer, amount=intent.amount,
            currency=intent.currency, case_id=intent.case_id, attempt=intent.attempt, outcome=outcome,
            status=status, charge=charge, time=datetime.now(UTC).isoformat(),
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
