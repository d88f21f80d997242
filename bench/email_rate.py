"""Email rates: sends per second through daprd's SMTP binding and directly; webhook events per second.

The SMTP server is an in-process aiosmtpd sink that counts messages (no disk), so both paths pay the
same server cost. The binding path is `DaprMailer` (one send at a time, as it must) through a daprd
that loads only the `email` component; the direct path opens one SMTP connection per mail, as the
binding's mailer does. The webhook figure posts signed batches to the real webhook server (with an
in-memory queue) over loopback HTTP.
"""

from __future__ import annotations

import shutil
import smtplib
import threading
import time
import urllib.request
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from dapr.conf import settings
from stats import spread

from bindings import client
from bindings.clock import SystemClock
from bindings.testing import MemoryQueue
from functions.common import names
from functions.common.mail import DaprMailer, OutgoingMail
from functions.email_webhook.app import PATH, WebhookServer
from functions.email_webhook.verify import Verifier
from tooling import components, daprd, procs, sidecar, webhook_keys
from tooling.paths import project_root

if TYPE_CHECKING:
    from pathlib import Path

    from tooling.sidecar import Ports


class _Sink:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802, ANN401
        with self._lock:
            self.count += 1
        return "250 OK"


def _mail(index: int) -> OutgoingMail:
    return OutgoingMail(
        sender="bench@bindery.example", to=(f"r{index}@example.com",), subject=f"bench {index}",
        html="<p>" + "Bindery bench body. " * 40 + "</p>",
    )  # fmt: skip


def _direct(port: int, count: int) -> float:
    began = time.perf_counter()
    for index in range(count):
        mail = _mail(index)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = mail.sender, mail.to[0], mail.subject
        message.set_content(mail.html, subtype="html")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
    return count / (time.perf_counter() - began)


def _through_daprd(mailer: DaprMailer, count: int) -> float:
    began = time.perf_counter()
    for index in range(count):
        mailer.send(_mail(index))
    return count / (time.perf_counter() - began)


def _sidecar(work: Path, smtp_port: int) -> tuple[procs.Proc, Ports]:
    source = work / "source"
    source.mkdir(parents=True)
    shutil.copy(project_root() / "components" / "local" / "email.yaml", source / "email.yaml")
    components.render(source, work / "components", {"SMTP_PORT": str(smtp_port)})
    proc, ports = sidecar.start_alone(
        names.EMAIL_SEND, daprd=daprd.find_or_build(), resources=work / "components", log=work / "daprd.log"
    )
    return proc, ports


def sends(work: Path, *, count: int = 300, runs: int = 5) -> dict[str, Any]:
    """Median sends per second, each path `runs` times with `count` mails, and their ratio."""
    shutil.rmtree(work, ignore_errors=True)
    sink = _Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=procs.free_port())
    smtp.start()
    proc, ports = _sidecar(work, smtp.port)
    before = settings.DAPR_GRPC_PORT, settings.DAPR_HTTP_PORT
    try:
        settings.DAPR_GRPC_PORT, settings.DAPR_HTTP_PORT = ports.grpc, ports.http  # type: ignore[attr-defined]
        mailer = DaprMailer(names.EMAIL)
        _through_daprd(mailer, 10)  # warm the client and the binding
        direct = [_direct(smtp.port, count) for _ in range(runs)]
        binding = [_through_daprd(mailer, count) for _ in range(runs)]
    finally:
        client.close()
        settings.DAPR_GRPC_PORT, settings.DAPR_HTTP_PORT = before  # type: ignore[attr-defined]
        proc.stop()
        smtp.stop()
    expected = (2 * runs * count) + 10
    if sink.count != expected:
        raise RuntimeError(f"the sink counted {sink.count} mails, expected {expected}")
    rates = {"direct_smtplib": spread(direct), "daprd_binding": spread(binding)}
    return {
        "count": count,
        "runs": runs,
        **rates,
        "ratio": rates["daprd_binding"]["median"] / rates["direct_smtplib"]["median"],
    }


def webhook(work: Path, *, batch: int = 100, posts: int = 50, runs: int = 3) -> dict[str, Any]:
    """Verified events per second through the webhook server, batches of `batch` events."""
    key = webhook_keys.load_or_create(work / "webhook-key.pem")
    queue = MemoryQueue(names.EMAIL_EVENTS_OUT)
    server = WebhookServer(("127.0.0.1", 0), Verifier(webhook_keys.public_key(key)), queue, SystemClock())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    events = [
        {"email": f"r{i}@example.com", "timestamp": int(time.time()), "event": "delivered",
         "sg_event_id": f"e{i}", "request_id": f"q{i}"}
        for i in range(batch)
    ]  # fmt: skip
    body = webhook_keys.batch(events)
    url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    rates = []
    try:
        for _ in range(runs):
            began = time.perf_counter()
            for _ in range(posts):
                headers = webhook_keys.signed_headers(key, body)
                with urllib.request.urlopen(
                    urllib.request.Request(url, data=body, headers=headers), timeout=10
                ):
                    pass
            rates.append(posts * batch / (time.perf_counter() - began))
    finally:
        server.shutdown()
        server.server_close()
    if len(queue.sent) != runs * posts:
        raise RuntimeError(f"{len(queue.sent)} batches queued, expected {runs * posts}")
    return {
        "batch": batch,
        "posts": posts,
        "runs": runs,
        "events_per_second": spread(rates),
    }
