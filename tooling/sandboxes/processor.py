"""A local card-processor sandbox: Stripe-like charges, idempotency keys and scripted outcomes.

Run as `python -m tooling.sandboxes.processor --port P --ledger FILE [--timeout-seconds S]`, or
in-process with `start_sandbox`. It binds 127.0.0.1 only. Endpoints:
- `POST /v1/charges`, body `{"customer", "amount", "currency", "case_id", "attempt"}`, header
  `Idempotency-Key`. A new key decides an outcome, appends a ledger line holding the response and
  answers. The same key and body (canonical-JSON SHA-256) replays that response byte for byte with
  `Idempotent-Replayed: true`; another body is a 409 `idempotency_error`. One lock covers
  check-decide-record, so concurrent requests with a key create one charge. 400s (no key, bad JSON
  or fields) and scripted 500s are not stored: a retry with the same key executes anew.
- `POST /v1/script`, body `{"customer": ID, "outcomes": [OUTCOME, ...]}`, replaces ID's queue.
- `GET /v1/ledger[?customer=ID]`: the ledger lines as a JSON array. `GET /healthz`: 204.

Script language. OUTCOME is `ok` (200 succeeded), `soft` (402 card_declined, decline_code
insufficient_funds), `hard` (402 code expired_card, no decline_code), `fraud` (402 card_declined,
stolen_card), `advice` (402 card_declined, do_not_honor, advice_code try_again_later), `timeout`
(records a success, then stalls `timeout_seconds` before answering; a client that gives up first,
as the gateway component does after its 10 s `responseTimeout` when the stall is longer, leaves the
charge standing, so a retry with the key replays it; the default 5 s stall only makes it slow) or
`5xx` (500 api_error, nothing recorded). A
key not yet in the ledger takes the next outcome queued for its customer, else the id decides:
`cus_<OUTCOME>_...` (e.g. `cus_soft_7`) gives that outcome, `cus_recover<N>_...` gives soft while
the customer has fewer than N ledger lines, then ok; any other id gives ok.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import signal
import threading
import time
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from tooling.sandboxes import processor_ledger as records

_log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 5.0
_PREFIX = re.compile(r"^cus_(?:recover(?P<recover>\d+)|(?P<outcome>ok|soft|hard|fraud|advice|timeout|5xx))_")


class _Answer(NamedTuple):
    status: int
    body: bytes
    replayed: bool = False


def _fail(status: int, message: str, kind: str = "invalid_request_error") -> _Answer:
    return _Answer(status, records.encode(records.error_body(kind, message)))


class _Sandbox:
    def __init__(self, ledger: records.Ledger, timeout_seconds: float) -> None:
        self.ledger = ledger
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[str]] = {}

    def script(self, request: records.ScriptRequest) -> None:
        with self._lock:
            self._scripts[request.customer] = deque(request.outcomes)

    def charge(self, key: str, body: dict[str, Any], request: records.ChargeRequest) -> _Answer:
        digest = records.fingerprint(body)
        with self._lock:
            seen = self.ledger.find(key)
            if seen is not None and seen.fingerprint != digest:
                message = f"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."  # noqa: E501
                return _fail(409, message, "idempotency_error")
            if seen is not None:
                return _Answer(seen.status, records.encode(seen.response), replayed=True)
            outcome = self._decide(request.customer)
            if outcome == "5xx":
                return _fail(500, "Scripted processor failure; nothing was charged.", "api_error")
            charge_id = f"ch_{secrets.token_hex(12)}"
            status, response = records.charge_answer(outcome, charge_id, request)
            stamp = datetime.now(UTC).isoformat()
            line = records.LedgerLine(
                key=key, fingerprint=digest, outcome=outcome, status=status, charge=charge_id, time=stamp,
                response=response, **request.model_dump(),
            )  # fmt: skip
            self.ledger.append(line)
        if outcome == "timeout":
            time.sleep(self.timeout_seconds)
        return _Answer(status, records.encode(response))

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


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a burst of retries must not overflow the listen backlog

    def __init__(self, port: int, sandbox: _Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:  # noqa: ARG002 - socketserver's hook
        _log.exception("request from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._send(_Answer(204, b""))
        elif url.path == "/v1/ledger":
            customer = parse_qs(url.query).get("customer", [None])[0]
            lines = self.server.sandbox.ledger.lines(customer)
            self._send(_Answer(200, records.encode([line.model_dump(mode="json") for line in lines])))
        else:
            self._send(_fail(404, f"Unrecognized request URL ({url.path})."))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(self._post(urlsplit(self.path).path, raw))

    def _post(self, path: str, raw: bytes) -> _Answer:
        if path not in {"/v1/charges", "/v1/script"}:
            return _fail(404, f"Unrecognized request URL ({path}).")
        key = self.headers.get("Idempotency-Key")
        if path == "/v1/charges" and not key:
            return _fail(400, "An Idempotency-Key header is required.")
        try:
            body = json.loads(raw)
        except ValueError:
            return _fail(400, "The request body is not valid JSON.")
        try:
            if path == "/v1/script":
                script = records.ScriptRequest.model_validate(body)
                self.server.sandbox.script(script)
                return _Answer(200, records.encode(script.model_dump()))
            return self.server.sandbox.charge(str(key), body, records.ChargeRequest.model_validate(body))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            return _fail(400, f"{where}: {first['msg']}" if where else first["msg"])

    def _send(self, answer: _Answer) -> None:
        try:
            self.send_response(answer.status)
            if answer.body:
                self.send_header("Content-Type", "application/json")
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
    """Start a sandbox on 127.0.0.1:port (0 picks a free port), reloading the ledger file if it exists."""
    return RunningSandbox(_Server(port, _Sandbox(records.Ledger(ledger_path), timeout_seconds)))


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
