"""The local stack: Azurite, Redis, SMTP capture, rendered components, and every app with its daprd.

Used by `bindery run`, `make demo` and the integration-test fixtures alike:

    with Stack(StackConfig(root=var_dir())) as stack:
        ...
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from functions.common import names
from tooling import azurite, components, daprd, procs, sidecar, webhook_keys
from tooling.paths import project_root
from tooling.services import Services

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

_log = logging.getLogger(__name__)
STRIPE_WEBHOOK_PATH = "/stripe/events"  # functions.stripe_webhook.app.PATH (not imported: it loads Dapr)

DEMO_APPS: tuple[sidecar.AppSpec, ...] = (
    sidecar.AppSpec(names.DEMO_TICKER, "functions.demo_ticker.app"),
    sidecar.AppSpec(names.DEMO_ARCHIVER, "functions.demo_archiver.app"),
    # The local tick fires every 5 s, so each tick's budget is shorter than that.
    sidecar.AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "4"}
    ),
    # Locally email goes through the SendGrid sandbox, which delivers into the SMTP capture and posts
    # signed events back to the webhook; the SMTP binding path is covered by the integration tests.
    sidecar.AppSpec(names.EMAIL_SEND, "functions.email_send.app", env={"EMAIL_PROVIDER": "sendgrid"}),
    sidecar.AppSpec(names.EMAIL_EVENTS, "functions.email_events.app"),
    sidecar.AppSpec(names.EMAIL_WEBHOOK, "functions.email_webhook.app", protocol="http"),
    # Stripe's events in: the processor sandbox posts its invoices' events to `Stack.stripe_webhook_url`
    # (so may the tests), and the intake asks the sandbox, as Stripe, for an invoice's decline.
    sidecar.AppSpec(names.STRIPE_WEBHOOK, "functions.stripe_webhook.app", protocol="http"),
    sidecar.AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app"),
    # Counts the dunning events payment-retry publishes on domain-events (the `aggregates` store).
    sidecar.AppSpec(names.AGGREGATOR, "functions.aggregator.app"),
    # Archives the same events, one JSON-lines blob a day and topic in the `audit` container.
    sidecar.AppSpec(names.AUDIT_ARCHIVE, "functions.audit_archive.app"),
    # Builds the dashboard's tiles from the aggregator's counters into the `tiles` store, with their TTL.
    sidecar.AppSpec(names.TILE_BUILDER, "functions.tile_builder.app"),
    # The operators' page and the built tiles (HTTP); its sidecar loads only the `tiles` store.
    sidecar.AppSpec(names.DASHBOARD, "functions.dashboard.app", protocol="http"),
)
DEFAULTS: Mapping[str, str] = {
    "DEMO_TICK_SCHEDULE": "@every 2s",
    "RETRY_TICK_SCHEDULE": "@every 5s",
    "ARCHIVE_TICK_SCHEDULE": "@every 2s",  # the audit archive renders the days that changed
    "DASHBOARD_TICK_SCHEDULE": "@every 5s",  # the tile builder rebuilds the tiles that are due
    "QUEUE_POLLING_INTERVAL": "200ms",
    "QUEUE_VISIBILITY_TIMEOUT": "60s",  # as deployed (deploy/aca/main.bicep)
    "PUBSUB_PROCESSING_TIMEOUT": "60s",  # pubsub.redis redelivers an event unacknowledged this long
    "PUBSUB_REDELIVER_INTERVAL": "10s",  # (checked this often): components/local/domain-events.yaml
}


# Filled from the running stack; DEFAULTS (or StackConfig.values) fill the rest.
RUNTIME_PLACEHOLDERS = frozenset({
    "AZURITE_BLOB", "AZURITE_QUEUE", "REDIS_HOST", "STATE_DIR", "SMTP_PORT", "PAYMENT_GATEWAY_URL",
    "SENDGRID_API_URL",
})  # fmt: skip


@dataclass(frozen=True)
class StackConfig:
    """Where the stack keeps its files, which apps it runs, and placeholder overrides."""

    root: Path
    apps: Sequence[sidecar.AppSpec] = DEMO_APPS
    components: Path = field(default_factory=lambda: project_root() / "components" / "local")
    values: Mapping[str, str] = field(default_factory=dict)
    api_tokens: bool = True


class Stack(Services):
    """Start everything on enter, stop everything (in reverse) on exit; no process outlives it."""

    def __init__(self, config: StackConfig) -> None:
        super().__init__(config.root)
        self.config = config
        self.apps: dict[str, sidecar.RunningApp] = {}
        self.started_in = 0.0
        self.app_token = secrets.token_urlsafe(24) if config.api_tokens else None
        self.dapr_token = secrets.token_urlsafe(24) if config.api_tokens else None

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
            **self.endpoints(),
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
        if spec.app_id == names.STRIPE_WEBHOOK and "STRIPE_WEBHOOK_SECRET" not in spec.env:
            secret = self.stripe_webhook_secret  # one per stack root, kept in stripe_webhook_secret_file
            spec = dataclasses.replace(spec, env={**spec.env, "STRIPE_WEBHOOK_SECRET": secret})
        if spec.app_id == names.RECEIPT_RENDER and "DOCUMENTS_CONNECTION_STRING" not in spec.env:
            connection = self._azurite().connection_string  # Azurite's well-known key signs the links
            spec = dataclasses.replace(spec, env={**spec.env, "DOCUMENTS_CONNECTION_STRING": connection})
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
        if spec.app_id == names.EMAIL_WEBHOOK:  # the SendGrid sandbox posts its events there
            self.set_webhook(f"http://127.0.0.1:{running.ports.app}/sendgrid/events")
        if spec.app_id == names.STRIPE_WEBHOOK:  # and the processor sandbox its invoices' events
            url = f"http://127.0.0.1:{running.ports.app}{STRIPE_WEBHOOK_PATH}"
            self.set_stripe_webhook(url, spec.env["STRIPE_WEBHOOK_SECRET"])
        return running

    @property
    def stripe_webhook_url(self) -> str:
        """Where the running stripe-webhook takes Stripe's events (`POST`, signed with the stack's secret)."""
        return self._url(names.STRIPE_WEBHOOK, STRIPE_WEBHOOK_PATH)

    @property
    def dashboard_url(self) -> str:
        """The running dashboard's page."""
        return self._url(names.DASHBOARD, "/")

    def _url(self, app_id: str, path: str) -> str:
        """`path` on the running HTTP app `app_id`; `StackError` when the stack does not run it."""
        running = self.apps.get(app_id)
        if running is None:
            raise procs.StackError(f"{app_id} is not running in this stack")
        return f"http://127.0.0.1:{running.ports.app}{path}"

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

    def _create_storage(self) -> None:
        queues, containers = components.storage_entities(self.resources)
        queue_service, blob_service = self.queue_service(), self.blob_service()
        existing_queues = {queue.name for queue in queue_service.list_queues()}
        for queue in sorted(queues - existing_queues):
            queue_service.create_queue(queue)
        existing_containers = {container.name for container in blob_service.list_containers()}
        for container in sorted(containers - existing_containers):
            blob_service.create_container(container)
