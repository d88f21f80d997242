"""The HTTP side the two webhooks share: one POST path, framed bodies, an answer for every request.

`WebhookHandler` answers `GET /healthz` with 204 and any other path with 404; on its one POST path
it reads the body as `framing` frames it, within the server's read timeout (408 after it), refuses
with the `RefusedError`'s status (logged as a warning with the peer), and leaves what the body means
to the app's `deliver`. Every request that arrives whole is answered (500 for anything unexpected),
and a body left unread is drained before the connection closes. `serve_until_stopped` serves until
SIGTERM or SIGINT, then finishes the requests in flight.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from functions.common.framing import MAX_BODY, RefusedError, body_size, drain

READ_TIMEOUT = 30.0  # seconds a client may take to send its body before it is answered 408


class WebhookServer(ThreadingHTTPServer):
    """A threaded HTTP server whose handlers give a stalled client `read_timeout` seconds."""

    daemon_threads = True
    read_timeout = READ_TIMEOUT


class WebhookHandler(BaseHTTPRequestHandler):
    """One webhook's requests; a subclass names its path, log label and body limit, and `deliver`s."""

    server: WebhookServer
    path_served: ClassVar[str]
    label: ClassVar[str]  # how log lines name the webhook
    limit: ClassVar[int] = MAX_BODY
    log: ClassVar[logging.Logger]
    _answered = False
    _unread = False  # a body was announced and not read: drained before closing

    def deliver(self, body: bytes) -> None:
        """Verify and act on a whole body, answering; raise `RefusedError` to refuse it."""
        raise NotImplementedError

    def setup(self) -> None:
        """Give the connection the server's read timeout."""
        super().setup()
        self.connection.settimeout(self.server.read_timeout)  # a stalled client must not hold a thread

    def do_GET(self) -> None:
        """The health check (204); any other path 404."""
        self.answer(204 if self.path == "/healthz" else 404)

    def finish(self) -> None:
        """Drain a body left unread, so the answer is not lost to a reset."""
        super().finish()
        if self._unread:
            drain(self.connection)

    def do_POST(self) -> None:
        """The webhook's one path: framed, read, delivered; always answered."""
        self._answered, self._unread = False, True
        try:
            self._post()
        except Exception:  # whatever failed, the request still gets an answer
            self.log.exception("%s request failed unexpectedly", self.label)
            if not self._answered:
                with contextlib.suppress(OSError):
                    self.answer(500)

    def answer(self, status: int) -> None:
        """Answer `status` with an empty body."""
        self._answered = True
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - http.server's signature
        """http.server's access line, at debug level."""
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("%s %s", self.address_string(), format % args)

    def _post(self) -> None:
        if self.path != self.path_served:
            self.answer(404)
            return
        try:
            self.deliver(self._read(body_size(self.headers, limit=self.limit)))
        except RefusedError as error:
            self.log.warning(
                "%s refused (%d): %s", self.label, error.status, error, extra={"peer": self.client_address[0]}
            )
            self.answer(error.status)

    def _read(self, size: int) -> bytes:
        try:
            body = self.rfile.read(size)
        except TimeoutError as error:
            raise RefusedError(
                408, f"the body did not arrive within {self.server.read_timeout:g}s"
            ) from error
        if len(body) != size:
            raise RefusedError(400, f"the body ended after {len(body)} of {size} bytes")
        self._unread = False
        return body


def serve_until_stopped(server: ThreadingHTTPServer) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and close."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever(poll_interval=0.2)
    server.server_close()
