"""The webhook's HTTP server on loopback: every request, however its headers are crafted, gets an answer."""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bindings.clock import SystemClock
from bindings.testing import MemoryQueue
from functions.common import names
from functions.common.framing import MAX_BODY
from functions.common.messages import EmailEventBatch
from functions.email_webhook.app import PATH, WebhookServer
from functions.email_webhook.verify import Verifier
from tooling import webhook_keys

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BODY = webhook_keys.batch([{"email": "a@example.com", "timestamp": 1, "event": "open", "sg_event_id": "e"}])


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> ec.EllipticCurvePrivateKey:
    """The webhook's signing key for this module."""
    return webhook_keys.load_or_create(tmp_path_factory.mktemp("keys") / "key.pem")


@pytest.fixture(scope="module")
def server(key: ec.EllipticCurvePrivateKey) -> Iterator[WebhookServer]:
    """The webhook's server on a free loopback port, with a one-second read timeout."""
    verifier = Verifier(webhook_keys.public_key(key))
    running = WebhookServer(
        ("127.0.0.1", 0), verifier, MemoryQueue(names.EMAIL_EVENTS_OUT), SystemClock(), read_timeout=1.0
    )
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def exchange(server: WebhookServer, head: bytes, body: bytes = b"") -> bytes:
    """Send a raw request (`head` holds the header lines) and return all the server answered."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def signed(key: ec.EllipticCurvePrivateKey, body: bytes) -> bytes:
    """The header lines SendGrid would send with `body`, Content-Length included."""
    headers = {**webhook_keys.signed_headers(key, body), "Content-Length": str(len(body))}
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())


def status(answer: bytes) -> int:
    """The status code of a raw HTTP answer; fails the test when nothing came back."""
    line = answer.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1."), f"no HTTP answer: {answer!r}"
    return int(line.split()[1])


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(b"", 411, id="missing"),
        pytest.param(b"Content-Length:\r\n", 400, id="empty"),
        pytest.param(b"Content-Length: \xb2\r\n", 400, id="superscript-two"),
        pytest.param(b"Content-Length: 1\xb9\xb3\r\n", 400, id="superscript-digits-after-a-digit"),
        pytest.param(b"Content-Length: \xbd\r\n", 400, id="vulgar-fraction"),
        pytest.param(b"Content-Length: \xd9\xa3\r\n", 400, id="arabic-indic-three-utf8"),
        pytest.param(b"Content-Length: " + b"9" * 5000 + b"\r\n", 413, id="thousands-of-digits"),
        pytest.param(b"Content-Length: 1" + b"0" * 30 + b"\r\n", 413, id="beyond-64-bits"),
        pytest.param(f"Content-Length: {MAX_BODY + 1}\r\n".encode(), 413, id="one-over-the-limit"),
        pytest.param(b"Content-Length: -5\r\n", 400, id="negative"),
        pytest.param(b"Content-Length: +5\r\n", 400, id="plus-sign"),
        pytest.param(b"Content-Length: 1_0\r\n", 400, id="underscore"),
        pytest.param(b"Content-Length: 0x10\r\n", 400, id="hex"),
        pytest.param(b"Content-Length: 1 0\r\n", 400, id="inner-space"),
        pytest.param(b"Content-Length: 5\x0b\r\n", 400, id="vertical-tab"),
        pytest.param(b"Content-Length: 5, 5\r\n", 400, id="list"),
        pytest.param(b"Content-Length: 5\r\nContent-Length: 5\r\n", 400, id="duplicated-equal"),
        pytest.param(b"Content-Length: 5\r\nContent-Length: 7\r\n", 400, id="duplicated-different"),
        pytest.param(
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400, id="with-transfer-encoding"
        ),
        pytest.param(b"Transfer-Encoding: chunked\r\n", 411, id="chunked-without-length"),
    ],
)
def test_a_crafted_content_length_gets_an_http_answer(
    server: WebhookServer, head: bytes, expected: int
) -> None:
    """Non-ASCII digits, huge, negative, spaced, duplicated or missing lengths are refused with a status."""
    assert status(exchange(server, head, b"hello")) == expected


@pytest.mark.parametrize(
    "head", [b"Content-Length: 5\r\n", b"Content-Length:  5 \r\n", b"Content-Length:\t5\t\r\n"]
)
def test_a_valid_length_with_optional_whitespace_reaches_the_verifier(
    server: WebhookServer, head: bytes
) -> None:
    """Whitespace around the value is allowed by HTTP: an unsigned body is then refused as unsigned (401)."""
    assert status(exchange(server, head, b"hello")) == 401


@pytest.mark.parametrize(
    ("head", "expected"),
    [(f"Content-Length: {MAX_BODY + 1}\r\n".encode(), 413), (b"Content-Length: \xb2\r\n", 400)],
)
def test_a_refused_request_whose_body_keeps_coming_still_gets_its_answer(
    server: WebhookServer, head: bytes, expected: int
) -> None:
    """The unread body is drained before closing: the client sending it is not reset, and reads the answer."""
    assert status(exchange(server, head, b"x" * (MAX_BODY + 1))) == expected


def test_a_body_shorter_than_its_length_times_out_with_408(server: WebhookServer) -> None:
    """A client that stops sending gets 408 after the read timeout instead of holding a thread forever."""
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock:
        sock.sendall(b"POST " + PATH.encode() + b" HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        answer = sock.recv(65536)
    assert status(answer) == 408


def test_a_failure_inside_the_handler_is_answered_500(tmp_path: Path) -> None:
    """An unexpected exception (here: the queue raising a non-Bindery error) still gets an answer."""
    other = webhook_keys.load_or_create(tmp_path / "other.pem")
    queue = MemoryQueue(names.EMAIL_EVENTS_OUT)
    queue.fail = RuntimeError("unexpected")
    broken = WebhookServer(("127.0.0.1", 0), Verifier(webhook_keys.public_key(other)), queue, SystemClock())
    thread = threading.Thread(target=broken.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert status(exchange(broken, signed(other, BODY), BODY)) == 500
    finally:
        broken.shutdown()
        broken.server_close()


def test_a_signed_batch_is_queued_and_answered_204(
    server: WebhookServer, key: ec.EllipticCurvePrivateKey
) -> None:
    """The control case: a well-formed, signed POST still gets 204 and is queued exactly as it came."""
    assert status(exchange(server, signed(key, BODY), BODY)) == 204
    queue = server.queue
    assert isinstance(queue, MemoryQueue)
    assert [m.body for m in queue.sent if isinstance(m, EmailEventBatch)][-1] == BODY.decode()
