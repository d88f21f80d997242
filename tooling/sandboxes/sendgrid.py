"""A local stand-in for SendGrid: the v3 mail/send API, delivery into the SMTP capture, signed events.

Run as `python -m tooling.sandboxes.sendgrid --port P --log FILE --smtp-port S --key PEM`; it binds
127.0.0.1 only. `POST /v3/mail/send` needs `Authorization: Bearer SG.<any key>` and a v3 body; it answers
202 with `X-Message-Id`, appends the request to the log (one JSON line a mail), delivers the mail over
SMTP to the capture (multipart when the body has both parts), then posts signed events (`processed`,
then `delivered`, or `bounce` for recipients whose local part starts with `bounce`) to the webhook set
by `POST /v1/webhook {"url": ...}`, with the mail's `custom_args` on each event as SendGrid does.
A recipient starting `sg-429` is refused once with 429 and `Retry-After: 1`; `sg-500` always gets 500.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import smtplib
import threading
import time
import urllib.request
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tooling import webhook_keys

_log = logging.getLogger(__name__)


def _errors(message: str, field: str | None = None) -> bytes:
    return json.dumps({"errors": [{"message": message, "field": field, "help": None}]}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, log: Path, smtp_port: int, key_path: Path) -> None:
        self.log, self.smtp_port = log, smtp_port
        self.key = webhook_keys.load_or_create(key_path)
        self.webhook: str | None = None
        self.refused: set[str] = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def accept(self, body: dict[str, Any]) -> str:
        message_id = secrets.token_urlsafe(16)
        with self.lock, self.log.open("a") as out:
            out.write(json.dumps({"message_id": message_id, "request": body}) + "\n")
        threading.Thread(target=self._deliver, args=(message_id, body), daemon=True).start()
        return message_id

    def _deliver(self, message_id: str, body: dict[str, Any]) -> None:
        people = body["personalizations"][0]
        to, cc, bcc = ([p["email"] for p in people.get(f, [])] for f in ("to", "cc", "bcc"))
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = body["from"]["email"], ", ".join(to), body["subject"]
        if cc:
            mail["Cc"] = ", ".join(cc)
        parts = {part["type"]: part["value"] for part in body["content"]}
        mail.set_content(parts.get("text/plain", ""))
        if "text/html" in parts:
            mail.add_alternative(parts["text/html"], subtype="html")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(mail, to_addrs=[*to, *cc, *bcc])
        args = {**body.get("custom_args", {}), **people.get("custom_args", {})}
        events = [
            _event(address, kind, message_id, args)
            for address in (*to, *cc, *bcc)
            for kind in ("processed", "bounce" if address.startswith("bounce") else "delivered")
        ]
        self._post_events(events)

    def _post_events(self, events: list[dict[str, Any]]) -> None:
        body = webhook_keys.batch(events)
        for attempt in range(5):
            if self.webhook is None:
                _log.info("no webhook set: %d events not posted", len(events))
                return
            headers = webhook_keys.signed_headers(self.key, body)
            request = urllib.request.Request(  # noqa: S310 - the webhook URL the stack set
                self.webhook, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback webhook
                    return
            except OSError as error:
                _log.warning("webhook post %d failed: %s", attempt + 1, error)
                time.sleep(0.5 * (attempt + 1))


def _event(address: str, kind: str, message_id: str, args: dict[str, Any]) -> dict[str, Any]:
    event = {
        "email": address, "timestamp": int(time.time()), "event": kind,
        "sg_event_id": secrets.token_urlsafe(16), "sg_message_id": f"{message_id}.filter0001",
    }  # fmt: skip
    if kind == "bounce":
        event |= {"type": "bounce", "reason": "550 5.1.1 no such user"}
    return {**event, **args}


def _missing(body: Any) -> str | None:  # noqa: ANN401 - any JSON
    """What a v3 mail/send body lacks, if anything."""
    try:
        people = body["personalizations"][0]
        if not people["to"] or not all(person.get("email") for person in people["to"]):
            return "personalizations.to"
        if not (body["from"]["email"] and body["subject"] and body["content"]):
            return "from, subject or content"
    except (KeyError, IndexError, TypeError) as error:
        return str(error)
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._send(204 if self.path == "/healthz" else 404, b"")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, _errors("Invalid JSON"))
            return
        if self.path == "/v1/webhook":
            self.server.webhook = str(body["url"])
            self._send(204, b"")
        elif self.path != "/v3/mail/send":
            self._send(404, _errors("Not found"))
        elif not self.headers.get("Authorization", "").removeprefix("Bearer ").strip().startswith("SG."):
            self._send(401, _errors("The provided authorization grant is invalid, expired, or revoked"))
        else:
            self._mail_send(body)

    def _mail_send(self, body: Any) -> None:  # noqa: ANN401 - any JSON
        missing = _missing(body)
        if missing:
            self._send(400, _errors(f"Bad request: missing {missing}", "personalizations"))
            return
        to = [person["email"] for person in body["personalizations"][0]["to"]]
        if any(address.startswith("sg-500") for address in to):
            self._send(500, _errors("Internal server error (scripted)"))
            return
        with self.server.lock:
            first = [a for a in to if a.startswith("sg-429") and a not in self.server.refused]
            self.server.refused.update(first)
        if first:
            self._send(429, _errors("Too many requests (scripted)"), {"Retry-After": "1"})
            return
        self._send(202, b"", {"X-Message-Id": self.server.accept(body)})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - http.server's signature
        _log.info("%s " + format, self.address_string(), *args)


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument(
        "--key", type=Path, required=True, help="the webhook signing key (PEM), made if absent"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.log.parent.mkdir(parents=True, exist_ok=True)
    server = _Server(args.port, args.log, args.smtp_port, args.key)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown).start())
    _log.info("SendGrid sandbox on 127.0.0.1:%d", args.port)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()
