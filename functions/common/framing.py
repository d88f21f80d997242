"""HTTP framing for the webhooks: the body's length from its headers, and closing after a refusal.

`Content-Length` is the only framing accepted: exactly one, of ASCII digits (`str.isdigit()` also
takes '²' and '٣', which `int()` refuses; thousands of digits are refused before `int()` sees them),
at most the app's limit (`MAX_BODY` unless it says less), and never beside `Transfer-Encoding`
(which of the two frames the body is how requests are smuggled). A refused request's body is left
unread; `drain` reads and drops what the client still sends for a moment, because closing a socket
with unread data resets the connection, and a reset can discard the answer before the client reads
it. Both webhooks (email_webhook, stripe_webhook) frame their bodies here, and refuse with `RefusedError`,
their verifiers included.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from typing import TYPE_CHECKING

from bindings.errors import BinderyError

if TYPE_CHECKING:
    from email.message import Message

MAX_BODY = 5_000_000
_DIGITS = re.compile(r"[0-9]+")


class RefusedError(BinderyError):
    """A request answered without being acted on; `status` is the HTTP answer, the message why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def body_size(headers: Message, *, limit: int = MAX_BODY) -> int:
    """The body's length by `Content-Length`, at most `limit`, or `RefusedError` with the status to answer."""
    values = headers.get_all("Content-Length") or []
    if headers.get("Transfer-Encoding") is not None:
        if values:  # which one frames the body is how requests are smuggled
            raise RefusedError(400, "Content-Length together with Transfer-Encoding")
        raise RefusedError(411, "no Content-Length (chunked bodies are not accepted)")
    if not values:
        raise RefusedError(411, "no Content-Length")
    if len(values) > 1:
        raise RefusedError(400, f"Content-Length given {len(values)} times")
    text = str(values[0]).strip(" \t")  # optional whitespace around a field value (RFC 9110 5.5)
    if not _DIGITS.fullmatch(text):
        raise RefusedError(400, f"Content-Length {text[:20]!r} is not a number in ASCII digits")
    if len(text.lstrip("0")) > len(str(limit)) or int(text) > limit:
        raise RefusedError(413, f"Content-Length {text[:20]} is over {limit} bytes")
    return int(text)


def drain(connection: socket.socket, *, seconds: float = 2.0, limit: int = 2 * MAX_BODY) -> None:
    """Stop sending, then read and drop up to `limit` bytes for up to `seconds` (a lingering close)."""
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError):  # the client went away, or went quiet: either way, done
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(seconds)
        while limit > 0 and time.monotonic() < deadline and (chunk := connection.recv(65536)):
            limit -= len(chunk)
