"""HTTP framing for the webhook: the body's length from its headers, and closing after a refusal.

`Content-Length` is the only framing accepted: exactly one, of ASCII digits (`str.isdigit()` also
takes '²' and '٣', which `int()` refuses; thousands of digits are refused before `int()` sees them),
at most `MAX_BODY`, and never beside `Transfer-Encoding` (which of the two frames the body is how
requests are smuggled). A refused request's body is left unread; `drain` reads and drops what the
client still sends for a moment, because closing a socket with unread data resets the connection,
and a reset can discard the answer before the client reads it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from typing import TYPE_CHECKING

from functions.email_webhook.verify import RefusedError

if TYPE_CHECKING:
    from email.message import Message

MAX_BODY = 5_000_000
_DIGITS = re.compile(r"[0-9]+")


def body_size(headers: Message) -> int:
    """The body's length by `Content-Length`, or `RefusedError` with the status to answer."""
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
    if len(text.lstrip("0")) > len(str(MAX_BODY)) or int(text) > MAX_BODY:
        raise RefusedError(413, f"Content-Length {text[:20]} is over {MAX_BODY} bytes")
    return int(text)


def drain(connection: socket.socket, *, seconds: float = 2.0, limit: int = 2 * MAX_BODY) -> None:
    """Stop sending, then read and drop up to `limit` bytes for up to `seconds` (a lingering close)."""
    deadline = time.monotonic() + seconds
    with contextlib.suppress(OSError):  # the client went away, or went quiet: either way, done
        connection.shutdown(socket.SHUT_WR)
        connection.settimeout(seconds)
        while limit > 0 and time.monotonic() < deadline and (chunk := connection.recv(65536)):
            limit -= len(chunk)
