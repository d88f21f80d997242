"""A local card-processor sandbox speaking Stripe's v1 wire format, with scripted outcomes.

Run as `python -m tooling.sandboxes.processor --port P --ledger FILE [--timeout-seconds S]`, or
in-process with `start_sandbox`. It binds 127.0.0.1 only. Stripe endpoints (form bodies, nested keys
such as `metadata[case_id]`; `Authorization: Bearer sk_test_…` with any test secret key, else 401):
- `POST /v1/payment_intents`: create and confirm off-session. Params: amount, currency, customer,
  payment_method (optional), confirm=true, off_session=true, error_on_requires_action,
  automatic_payment_methods[enabled|allow_redirects], metadata[case_id], metadata[attempt] (both
  required here: the ledger needs them). 200 a succeeded PaymentIntent, or a 402 card_error whose
  `payment_intent` requires_payment_method and holds the `last_payment_error`.
- `POST /v1/invoices/{in_…}/pay`, params off_session, payment_method: 200 the paid Invoice (and an
  `invoice.paid` event), or the 402 card_error (the invoice stays open, one more attempt); 404 for an
  unknown invoice, 400 if paid.
- `GET /v1/invoice_payments?invoice=in_…[&limit=N][&expand[]=data.payment.payment_intent]`: the
  invoice's attempts, newest first, as InvoicePayments in Stripe's list (`object`, `data`, `has_more`,
  `url`); each PaymentIntent (expanded or its id) is `requires_payment_method` with the
  `last_payment_error` of a decline, or `succeeded`. 404 for an unknown invoice.
- `GET /v1/events?types[]=…&created[gte]=…&limit=N&starting_after=evt_…`: every event the sandbox emitted,
  posted or not (kept in `<ledger stem>.events.jsonl`), newest first, in Stripe's list (`processor_events`).
The two POSTs need an `Idempotency-Key` (optional at Stripe, required here). A new key validates (4xx, not
stored), decides an outcome, appends a ledger line holding the answer and answers. The same key,
path and form pairs (sorted) replay that answer byte for byte with `Idempotent-Replayed: true`;
another path or other pairs are a 400 `idempotency_error`. One lock covers check-decide-record, so
concurrent requests with a key execute once. Every answer has `Request-Id` and `Stripe-Version`
(the request's, else the pinned `functions.common.stripe.STRIPE_VERSION`). Sandbox controls, no key:
- `POST /v1/sandbox/invoices`, JSON `{"customer", "amount", "currency"[, "email", "subscription",
  "metadata"]}`: 200 a new open Invoice, charged automatically, its `customer_email`, `metadata`
  (strings, Stripe's limits; `{}` without) and `parent.subscription_details.subscription` set when
  given (kept in `<ledger stem>.invoices.jsonl`, so a restart still knows it); `GET /i/{in_…}` is its page.
- `POST /v1/sandbox/invoices/{in_…}/fail`, JSON `{"outcome": "soft"|"hard"|"fraud"|"advice"|"auth"}`:
  Stripe's own automatic attempt declined so: a ledger line as a declined /pay's (key
  `auto:{in_…}:{attempt}`, mode invoice), then `invoice.payment_failed` (`next_payment_attempt` null:
  no Smart Retry), created at `created` (Unix seconds) if given, as a late delivery; 200 the open
  Invoice; 404 unknown, 400 paid.
- `POST /v1/sandbox/webhook`, JSON `{"url", "secret": "whsec_…"}`: where events go from now on, each
  signed as Stripe signs (`Stripe-Signature: t=…,v1=…`) and posted from a background thread, tried a
  few times (`processor_webhooks`); without one, events are kept (`GET /v1/events`), never posted.
- `POST /v1/script`, JSON `{"customer": ID, "outcomes": [OUTCOME, ...]}`, replaces ID's queue.
- `GET /v1/ledger[?customer=ID]`: the ledger lines as a JSON array. `GET /healthz`: 204.

Script language. OUTCOME is `ok` (200), `soft` (402 card_declined, decline_code
insufficient_funds), `hard` (402 code expired_card, no decline_code), `fraud` (402 card_declined,
stolen_card), `advice` (402 card_declined, do_not_honor, advice_code try_again_later), `auth` (402
authentication_required, decline_code authentication_required), `timeout` (records a success, then
stalls `timeout_seconds` before answering; a client that gives up first, as the gateway component
does after its 10 s `responseTimeout` when the stall is longer, leaves the payment standing, so a
retry with the key replays it; the default 5 s stall only makes it slow) or `5xx` (500 api_error,
nothing recorded, so a retry with the key executes anew). A key not yet in the ledger takes the next
outcome queued for its customer (an invoice's customer for /pay), else the id decides:
`cus_<OUTCOME>_...` (e.g. `cus_soft_7`) gives that outcome, `cus_recover<N>_...` gives soft while
the customer has fewer than N ledger lines, then ok; any other id gives ok.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from functions.common.stripe import FORM, MAX_IDEMPOTENCY_KEY, STRIPE_VERSION
from tooling.sandboxes import processor_events as events
from tooling.sandboxes import processor_ledger as records
from tooling.sandboxes import processor_params as params
from tooling.sandboxes import processor_stripe as stripe
from tooling.sandboxes.processor_controls import control
from tooling.sandboxes.processor_engine import INTENTS, PAY, Call, Sandbox
from tooling.sandboxes.processor_stripe import Answer, Refusal

_log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
_PAGE = re.compile(r"^/i/(?P<invoice>in_[A-Za-z0-9_]+)$")


def _fail(refusal: Refusal) -> Answer:
    return Answer(refusal.status, records.encode(refusal.body))


def _unrecognized(method: str, path: str) -> Refusal:
    message = f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."  # noqa: E501
    return Refusal(404, message)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of retries must not overflow the listen backlog

    def __init__(self, port: int, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(("127.0.0.1", port), _Handler)
        sandbox.base_url = f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:  # noqa: ARG002 - socketserver's hook
        _log.exception("request from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        page = _PAGE.match(url.path)
        invoice = None if page is None else self.server.sandbox.invoice(page["invoice"])
        if url.path == "/healthz":
            self._send(Answer(204, b""))
        elif url.path in {"/v1/invoice_payments", events.URL}:
            self._send(self._list(url.path, parse_qsl(url.query, keep_blank_values=True)))
        elif url.path == "/v1/ledger":
            customer = parse_qs(url.query).get("customer", [None])[0]
            lines = self.server.sandbox.ledger.lines(customer)
            self._send(Answer(200, records.encode([line.model_dump(mode="json") for line in lines])))
        elif invoice is not None:
            text = f"<!doctype html><title>{invoice['id']}</title><h1>Invoice {invoice['id']}</h1><p>{invoice['status']}: {invoice['amount_remaining']} {invoice['currency']} due</p>"  # noqa: E501
            self._send(Answer(200, text.encode(), content_type="text/html"))  # validated ids and amounts only
        else:
            self._send(_fail(_unrecognized("GET", url.path)))

    def _list(self, path: str, pairs: list[tuple[str, str]]) -> Answer:
        sandbox = self.server.sandbox
        try:
            stripe.check_key(self.headers.get("Authorization"))
            if path == events.URL:
                listed = sandbox.events.listed(pairs)
            else:
                invoice_id, limit, expand = params.list_params(pairs)
                listed = sandbox.invoice_payments(invoice_id, limit, expand=expand)
        except Refusal as refusal:
            return _fail(refusal)
        return Answer(200, records.encode(listed))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            answer = self._post(urlsplit(self.path).path, raw)
        except Refusal as refusal:
            answer = _fail(refusal)
        self._send(answer)

    def _post(self, path: str, raw: bytes) -> Answer:
        sandbox = self.server.sandbox
        if (answer := control(sandbox, path, raw)) is not None:
            return answer
        if path != INTENTS and not PAY.match(path):
            raise _unrecognized("POST", path)
        stripe.check_key(self.headers.get("Authorization"))
        key = self.headers.get("Idempotency-Key")
        if not key:
            raise Refusal(400, "This sandbox requires an Idempotency-Key header on every Stripe request "
                          "(Stripe makes it optional): the key is what makes a retry safe.")  # fmt: skip
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise Refusal(400, "Keys for idempotent requests can be no longer than 255 characters.")
        return sandbox.execute(Call(path, key, self._form(path, raw)))

    def _form(self, path: str, raw: bytes) -> list[tuple[str, str]]:
        content_type = (self.headers.get("Content-Type") or FORM).split(";")[0].strip().lower()
        if content_type == FORM:
            return parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
        if raw.strip() and path != INTENTS:  # /pay has no required param that would catch it
            raise Refusal(400, f"Invalid request (check that your POST content type is {FORM}).")
        return []  # Stripe reads only forms: a JSON body carries no parameters

    def _send(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            self.send_header("Request-Id", stripe.new_id("req"))
            self.send_header("Stripe-Version", self.headers.get("Stripe-Version") or STRIPE_VERSION)
            if answer.body:
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
            if answer.replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(answer.body)
        except ConnectionError:
            _log.info("client %s left before the answer", self.address_string())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - http.server's signature
        _log.info("%s " + format, self.address_string(), *args)


class RunningSandbox:
    """A sandbox serving on a background thread; `port` is the port actually bound."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port: int = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="processor-sandbox", daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        """Stop serving, close the socket and wait for the serving thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def start_sandbox(
    ledger_path: Path, *, port: int = 0, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
) -> RunningSandbox:
    """Start a sandbox on 127.0.0.1:port (0 picks a free port), reloading its ledger, invoices, events."""
    invoices = records.Invoices(records.invoices_path(ledger_path))
    kept = events.Events(events.events_path(ledger_path))
    return RunningSandbox(
        _Server(port, Sandbox(records.Ledger(ledger_path), invoices, timeout_seconds, kept))
    )


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--timeout-seconds", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sandbox = start_sandbox(args.ledger, port=args.port, timeout_seconds=args.timeout_seconds)
    _log.info("processor sandbox on 127.0.0.1:%d, ledger %s", sandbox.port, args.ledger)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    stop.wait()
    sandbox.shutdown()


if __name__ == "__main__":
    main()
