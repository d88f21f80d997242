"""The local stack: Azurite, SMTP capture, rendered components, and every app with its daprd.

Used by `bindery run`, `make demo` and the integration-test fixtures alike:

    with Stack(StackConfig(root=var_dir())) as stack:
        ...
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from bindings import names
from bindings.dev import azurite, components, daprd, procs, sidecar, webhook_keys
from bindings.dev.paths import project_root

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

_log = logging.getLogger(__name__)

DEMO_APPS: tuple[sidecar.AppSpec, ...] = (
    sidecar.AppSpec(names.DEMO_TICKER, "functions.demo_ticker.app"),
    sidecar.AppSpec(names.DEMO_ARCHIVER, "functions.demo_archiver.app"),
    # The local tick fires every 5 s, so each tick's budget is shorter than that.
    sidecar.AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "4"}
    ),
    sidecar.AppSpec(names.EMAIL_SEND, "functions.email_send.app"),
    sidecar.AppSpec(names.EMAIL_EVENTS, "functions.email_events.app"),
    sidecar.AppSpec(names.EMAIL_WEBHOOK, "functions.email_webhook.app", protocol="http"),
)
DEFAULTS: Mapping[str, str] = {
    "DEMO_TICK_SCHEDULE": "@every 2s",
    "RETRY_TICK_SCHEDULE": "@every 5s",
    "QUEUE_POLLING_INTERVAL": "200ms",
    "QUEUE_VISIBILITY_TIMEOUT": "30s",
}


# Filled from the running stack; DEFAULTS (or StackConfig.values) fill the rest.
RUNTIME_PLACEHOLDERS = frozenset(
    {"AZURITE_BLOB", "AZURITE_QUEUE", "STATE_DIR", "SMTP_PORT", "PAYMENT_GATEWAY_URL"}
)


@dataclass(frozen=True)
class StackConfig:
    """Where the stack keeps its files, which apps it runs, and placeholder overrides."""

    root: Path
    apps: Sequence[sidecar.AppSpec] = DEMO_APPS
    components: Path = field(default_factory=lambda: project_root() / "components" / "local")
    values: Mapping[str, str] = field(default_factory=dict)
    api_tokens: bool = True


class Stack:
    """Start everything on enter, stop everything (in reverse) on exit; no process outlives it."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.azurite: azurite.Azurite | None = None
        self.smtp_port = 0
        self.sandbox_port = 0
        self.apps: dict[str, sidecar.RunningApp] = {}
        self.started_in = 0.0
        self._procs: list[procs.Proc] = []
        self.app_token = secrets.token_urlsafe(24) if config.api_tokens else None
        self.dapr_token = secrets.token_urlsafe(24) if config.api_tokens else None

    @property
    def log_dir(self) -> Path:
        """One log file a process."""
        return self.config.root / "log"

    @property
    def mail_dir(self) -> Path:
        """Where the SMTP capture writes .eml files."""
        return self.config.root / "mail"

    @property
    def webhook_key(self) -> Path:
        """The private key the local SendGrid stand-in signs webhook events with (PEM)."""
        return self.config.root / "run" / "webhook-key.pem"

    @property
    def ledger(self) -> Path:
        """The processor sandbox's ledger: one JSON line per charge it made."""
        return self.config.root / "sandbox" / "ledger.jsonl"

    @property
    def resources(self) -> Path:
        """The rendered components folder every sidecar loads."""
        return self.config.root / "run" / "components"

    def __enter__(self) -> Self:
        started = time.monotonic()
        try:
            self._start_services()
            self.render()
            self._create_storage()
            binary = daprd.find_or_build()
            for spec in self.config.apps:
                self.start_app(spec, binary=binary)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - started
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def values(self) -> dict[str, str]:
        """The placeholder values for `components/local`."""
        if self.azurite is None:
            raise procs.StackError("Azurite is not running")
        runtime = {
            "AZURITE_BLOB": self.azurite.blob_endpoint,
            "AZURITE_QUEUE": self.azurite.queue_endpoint,
            "STATE_DIR": str(self.config.root / "state"),
            "SMTP_PORT": str(self.smtp_port),
            "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{self.sandbox_port}",
        }
        assert set(runtime) == RUNTIME_PLACEHOLDERS  # noqa: S101 - keeps the constant honest
        return {**DEFAULTS, **runtime, **self.config.values}

    def render(self) -> None:
        """Render the components with this stack's ports and folders."""
        (self.config.root / "state").mkdir(parents=True, exist_ok=True)
        components.render(self.config.components, self.resources, self.values())

    def start_app(
        self, spec: sidecar.AppSpec, *, binary: Path | None = None, **overrides: str | None
    ) -> sidecar.RunningApp:
        """Start one more app with its sidecar (tests start their own probe apps this way)."""
        if spec.app_id == names.EMAIL_WEBHOOK and "SENDGRID_WEBHOOK_PUBLIC_KEY" not in spec.env:
            key = webhook_keys.public_key(webhook_keys.load_or_create(self.webhook_key))
            spec = dataclasses.replace(spec, env={**spec.env, "SENDGRID_WEBHOOK_PUBLIC_KEY": key})
        running = sidecar.start(
            spec,
            daprd=binary or daprd.find_or_build(),
            resources=self.resources,
            log_dir=self.log_dir,
            app_token=self.app_token,
            dapr_token=self.dapr_token,
            daprd_app_token=overrides.get("daprd_app_token"),
        )
        self.apps[spec.name] = running
        return running

    def blob_service(self) -> BlobServiceClient:
        """An Azure SDK client for Azurite's blob service."""
        return BlobServiceClient.from_connection_string(self._azurite().connection_string)

    def queue_service(self) -> QueueServiceClient:
        """An Azure SDK client for Azurite's queue service."""
        return QueueServiceClient.from_connection_string(self._azurite().connection_string)

    def stop(self) -> None:
        """Stop every app and sidecar, then the services."""
        for running in reversed(list(self.apps.values())):
            running.stop()
        self.apps.clear()
        for proc in reversed(self._procs):
            proc.stop()
        self._procs.clear()

    def _azurite(self) -> azurite.Azurite:
        if self.azurite is None:
            raise procs.StackError("Azurite is not running")
        return self.azurite

    def _start_services(self) -> None:
        self.azurite = azurite.start(self.config.root / "azurite", self.log_dir / "azurite.log")
        self._procs.append(self.azurite.proc)
        self.smtp_port, self.sandbox_port = procs.free_port(), procs.free_port()
        smtp = self._python("smtp-capture", "bindings.dev.smtp_capture", "--port", str(self.smtp_port),
                            "--dir", str(self.mail_dir))  # fmt: skip
        sandbox = self._python("processor-sandbox", "bindings.dev.processor_sandbox",
                               "--port", str(self.sandbox_port), "--ledger", str(self.ledger))  # fmt: skip
        procs.wait_until(smtp, procs.port_open(self.smtp_port), timeout=20, what="SMTP listening")
        health = f"http://127.0.0.1:{self.sandbox_port}/healthz"
        procs.wait_until(sandbox, procs.http_status(health, 204), timeout=20, what="sandbox healthy")

    def _python(self, name: str, module: str, *args: str) -> procs.Proc:
        proc = procs.start(name, [sys.executable, "-m", module, *args], log=self.log_dir / f"{name}.log")
        self._procs.append(proc)
        return proc

    def _create_storage(self) -> None:
        queues, containers = components.storage_entities(self.resources)
        queue_service, blob_service = self.queue_service(), self.blob_service()
        existing_queues = {queue.name for queue in queue_service.list_queues()}
        for queue in sorted(queues - existing_queues):
            queue_service.create_queue(queue)
        existing_containers = {container.name for container in blob_service.list_containers()}
        for container in sorted(containers - existing_containers):
            blob_service.create_container(container)
