"""The local stand-ins a stack starts before its apps: Azurite, Redis, the SMTP capture, the two sandboxes."""

from __future__ import annotations

import json
import secrets
import sys
import urllib.request
from typing import TYPE_CHECKING

from tooling import azurite, procs, redis
from tooling.sandboxes.processor_client import SandboxTransport

if TYPE_CHECKING:
    from pathlib import Path


class Services:
    """The service processes under `root`, their ports and their files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.azurite: azurite.Azurite | None = None
        self.redis: redis.Redis | None = None  # the pub/sub broker
        self.smtp_port = self.sandbox_port = self.sendgrid_port = 0
        self._procs: list[procs.Proc] = []

    @property
    def log_dir(self) -> Path:
        """One log file a process."""
        return self.root / "log"

    @property
    def mail_dir(self) -> Path:
        """Where the SMTP capture writes .eml files."""
        return self.root / "mail"

    @property
    def webhook_key(self) -> Path:
        """The private key the local SendGrid stand-in signs webhook events with (PEM)."""
        return self.root / "run" / "webhook-key.pem"

    @property
    def stripe_webhook_secret_file(self) -> Path:
        """Where the local Stripe webhook endpoint's signing secret is kept (one line, `whsec_…`)."""
        return self.root / "run" / "stripe-webhook-secret"

    @property
    def stripe_webhook_secret(self) -> str:
        """The signing secret stripe-webhook verifies with: made on first use, then kept under `root`."""
        return stripe_secret(self.stripe_webhook_secret_file)

    @property
    def sendgrid_log(self) -> Path:
        """The SendGrid sandbox's record: one JSON line per accepted mail/send request."""
        return self.root / "sendgrid" / "mail.jsonl"

    @property
    def ledger(self) -> Path:
        """The processor sandbox's ledger: one JSON line per charge it made."""
        return self.root / "sandbox" / "ledger.jsonl"

    def _start_services(self) -> None:
        """Start Azurite, Redis, the SMTP capture, the card sandbox and the SendGrid sandbox."""
        self.azurite = azurite.start(self.root / "azurite", self.log_dir / "azurite.log")
        self._procs.append(self.azurite.proc)
        self.redis = redis.start(self.root / "redis", self.log_dir / "redis.log")
        self._procs.append(self.redis.proc)  # stopped with SIGTERM: Redis fsyncs its append-only file
        self.smtp_port, self.sandbox_port, self.sendgrid_port = (procs.free_port() for _ in range(3))
        smtp = self._python("smtp-capture", "tooling.smtp_capture", "--port", str(self.smtp_port),
                            "--dir", str(self.mail_dir))  # fmt: skip
        sandbox = self._python("processor-sandbox", "tooling.sandboxes.processor",
                               "--port", str(self.sandbox_port), "--ledger", str(self.ledger))  # fmt: skip
        sendgrid = self._python(
            "sendgrid-sandbox", "tooling.sandboxes.sendgrid", "--port", str(self.sendgrid_port),
            "--log", str(self.sendgrid_log), "--smtp-port", str(self.smtp_port),
            "--key", str(self.webhook_key),
        )  # fmt: skip
        procs.wait_until(smtp, procs.port_open(self.smtp_port), timeout=20, what="SMTP listening")
        health = f"http://127.0.0.1:{self.sendgrid_port}/healthz"
        procs.wait_until(
            sendgrid, procs.http_status(health, 204), timeout=20, what="SendGrid sandbox healthy"
        )
        health = f"http://127.0.0.1:{self.sandbox_port}/healthz"
        procs.wait_until(sandbox, procs.http_status(health, 204), timeout=20, what="sandbox healthy")

    def _python(self, name: str, module: str, *args: str) -> procs.Proc:
        proc = procs.start(name, [sys.executable, "-m", module, *args], log=self.log_dir / f"{name}.log")
        self._procs.append(proc)
        return proc

    def endpoints(self) -> dict[str, str]:
        """Component placeholders the services fill (besides Azurite's)."""
        if self.redis is None:
            raise procs.StackError("Redis is not running")
        return {
            "REDIS_HOST": self.redis.host,
            "SMTP_PORT": str(self.smtp_port),
            "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{self.sandbox_port}",
            "SENDGRID_API_URL": f"http://127.0.0.1:{self.sendgrid_port}",
        }

    def redis_stream(self, key: str) -> list[dict[str, str]]:
        """The entries of one Redis stream (a pub/sub topic), oldest first, as their fields."""
        if self.redis is None:
            raise procs.StackError("Redis is not running")
        return self.redis.stream(key)

    def set_webhook(self, url: str) -> None:
        """Tell the SendGrid sandbox where to post its signed events."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.sendgrid_port}/v1/webhook", data=json.dumps({"url": url}).encode(),
            method="POST", headers={"Content-Type": "application/json"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310

    def set_stripe_webhook(self, url: str, secret: str) -> None:
        """Tell the processor sandbox where to post its Stripe-signed events, and the signing secret."""
        SandboxTransport(self.sandbox_port, timeout=10).set_webhook(url, secret)


def stripe_secret(path: Path) -> str:
    """The webhook signing secret stored at `path`, created (`whsec_` and 32 random bytes) on first use."""
    if path.is_file() and (secret := path.read_text().strip()).startswith("whsec_"):
        return secret
    secret = "whsec_" + secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(secret + "\n")
    return secret
