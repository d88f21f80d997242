"""Component names: the contract between code, `components/` and `deploy/`.

`COMPONENTS` declares every binding and store: its type, its direction and the apps that
use it. The component test checks it against `components/local`, `components/azure` and
the function apps themselves (their triggers and the ports they construct).

A queue written by one app and read by another is two components over the same queue:
`<queue>` (direction input, scoped to the readers) and `<queue>-out` (direction output,
scoped to the writers). daprd reads every component marked `direction: input` in every
sidecar that loads it, whether or not the app handles it, so one shared `input, output`
component would make the writer consume the queue too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from bindings import messages

# Apps (Dapr app ids).
DEMO_TICKER: Final = "demo-ticker"
DEMO_ARCHIVER: Final = "demo-archiver"
PAYMENT_RETRY: Final = "payment-retry"
EMAIL_SEND: Final = "email-send"
EMAIL_WEBHOOK: Final = "email-webhook"
STRIPE_WEBHOOK: Final = "stripe-webhook"
EMAIL_EVENTS: Final = "email-events"
RECEIPT_RENDER: Final = "receipt-render"
AGGREGATOR: Final = "aggregator"  # counts the domain events (subscribes to domain-events' topics)
AUDIT_ARCHIVE: Final = "audit-archive"  # archives the domain events: a JSON-lines blob a day and topic
TILE_BUILDER: Final = "tile-builder"  # builds the dashboard's tiles from the aggregator's counters (a cron)
DASHBOARD: Final = "dashboard"  # serves the dashboard page and the built tiles (HTTP, behind sign-in)
# Apps built on FunctionApp (binding triggers over gRPC); the webhooks are plain HTTP apps, public.
FUNCTION_APPS: Final = (
    DEMO_TICKER, DEMO_ARCHIVER, PAYMENT_RETRY, EMAIL_SEND, EMAIL_EVENTS, RECEIPT_RENDER, AGGREGATOR,
    AUDIT_ARCHIVE, TILE_BUILDER,
)  # fmt: skip
WEBHOOK_APPS: Final = (EMAIL_WEBHOOK, STRIPE_WEBHOOK)
# Plain HTTP apps with ingress: the webhooks (public) and the dashboard (behind Container Apps sign-in).
HTTP_APPS: Final = (*WEBHOOK_APPS, DASHBOARD)
APPS: Final = (*FUNCTION_APPS, *HTTP_APPS)

# Bindings and stores.
STATESTORE: Final = "statestore"
EMAIL_STATE: Final = "email-state"  # shared by the email apps and dunning (keys not prefixed by app id)
DEAD_LETTERS: Final = messages.DEAD_LETTERS  # the framework writes dead letters through it
DOCUMENTS: Final = "documents"
DOCUMENTS_CONTAINER: Final = "documents"  # the container behind `documents`; order uploads land in it too
BILLING_STATE: Final = "billing-state"  # details the billing system leaves for documents (keys not prefixed)
# The aggregator's daily counters (`functions.common.aggregates`), read by the tile builder too: keys
# prefixed `aggregator||` for both (keyPrefix `aggregator`, the prefix the aggregator always had).
AGGREGATES: Final = "aggregates"
TILES: Final = "tiles"  # the built tiles, each with a TTL (`functions.common.tiles`; keyPrefix name)
DASHBOARD_TICK: Final = "dashboard-tick"  # the tile builder's cron: rebuilds the tiles that are due
ARCHIVE_STATE: Final = "archive-state"  # the audit archive's kept events and dirty days (keys prefixed)
AUDIT: Final = "audit"  # the audit archive's blobs: `audit/yyyy/mm/dd/{topic}.jsonl` (container `audit`)
ARCHIVE_TICK: Final = "archive-tick"  # the audit archive's cron: renders the days that changed
RECEIPT_REQUESTS: Final = "receipt-requests"
BLOB_EVENTS: Final = "blob-events"
DEMO_TICK: Final = "demo-tick"
DEMO_EVENTS: Final = "demo-events"
DEMO_EVENTS_OUT: Final = "demo-events-out"
RETRY_TICK: Final = "retry-tick"
PAYMENT_EVENTS: Final = "payment-events"
PAYMENT_EVENTS_OUT: Final = "payment-events-out"
PAYMENT_GATEWAY: Final = "payment-gateway"
EMAIL_REQUESTS: Final = "email-requests"
EMAIL_REQUESTS_OUT: Final = "email-requests-out"
EMAIL: Final = "email"
SENDGRID_API: Final = "sendgrid-api"
EMAIL_EVENTS_OUT: Final = "email-events-out"
RECEIPT_REQUESTS_OUT: Final = "receipt-requests-out"
SUBSCRIPTION_ACTIONS_OUT: Final = "subscription-actions-out"
DOMAIN_EVENTS: Final = "domain-events"  # the pub/sub every effect is published on as a domain event


@dataclass(frozen=True, slots=True)
class Component:
    """One Dapr component as the code expects it."""

    name: str
    type: str
    direction: Literal["input", "output"] | None  # None for state stores and pub/subs
    apps: tuple[str, ...]


COMPONENTS: Final = (
    Component(STATESTORE, "state", None, (DEMO_TICKER, DEMO_ARCHIVER, PAYMENT_RETRY)),
    Component(DEAD_LETTERS, "bindings.azure.blobstorage", "output", FUNCTION_APPS),
    Component(DOCUMENTS, "bindings.azure.blobstorage", "output", (DEMO_ARCHIVER, RECEIPT_RENDER)),
    Component(RETRY_TICK, "bindings.cron", "input", (PAYMENT_RETRY,)),
    Component(PAYMENT_EVENTS, "bindings.azure.storagequeues", "input", (PAYMENT_RETRY,)),
    Component(PAYMENT_EVENTS_OUT, "bindings.azure.storagequeues", "output", (STRIPE_WEBHOOK,)),
    Component(PAYMENT_GATEWAY, "bindings.http", "output", (PAYMENT_RETRY, STRIPE_WEBHOOK)),
    Component(EMAIL_REQUESTS_OUT, "bindings.azure.storagequeues", "output", (PAYMENT_RETRY, RECEIPT_RENDER)),
    Component(RECEIPT_REQUESTS_OUT, "bindings.azure.storagequeues", "output", (PAYMENT_RETRY,)),
    Component(SUBSCRIPTION_ACTIONS_OUT, "bindings.azure.storagequeues", "output", (PAYMENT_RETRY,)),
    Component(EMAIL_REQUESTS, "bindings.azure.storagequeues", "input", (EMAIL_SEND,)),
    Component(EMAIL, "bindings.smtp", "output", (EMAIL_SEND,)),
    Component(SENDGRID_API, "bindings.http", "output", (EMAIL_SEND,)),
    Component(EMAIL_STATE, "state", None, (EMAIL_SEND, EMAIL_EVENTS, PAYMENT_RETRY)),
    Component(EMAIL_EVENTS_OUT, "bindings.azure.storagequeues", "output", (EMAIL_WEBHOOK,)),
    Component(EMAIL_EVENTS, "bindings.azure.storagequeues", "input", (EMAIL_EVENTS,)),
    Component(RECEIPT_REQUESTS, "bindings.azure.storagequeues", "input", (RECEIPT_RENDER,)),
    Component(BLOB_EVENTS, "bindings.azure.storagequeues", "input", (RECEIPT_RENDER,)),
    Component(BILLING_STATE, "state", None, (RECEIPT_RENDER,)),
    Component(DEMO_TICK, "bindings.cron", "input", (DEMO_TICKER,)),
    Component(DEMO_EVENTS, "bindings.azure.storagequeues", "input", (DEMO_ARCHIVER,)),
    Component(DEMO_EVENTS_OUT, "bindings.azure.storagequeues", "output", (DEMO_TICKER,)),
    Component(
        DOMAIN_EVENTS,
        "pubsub",
        None,
        (DEMO_ARCHIVER, PAYMENT_RETRY, EMAIL_SEND, EMAIL_EVENTS, RECEIPT_RENDER, AGGREGATOR, AUDIT_ARCHIVE),
    ),
    Component(AGGREGATES, "state", None, (AGGREGATOR, TILE_BUILDER)),
    Component(ARCHIVE_STATE, "state", None, (AUDIT_ARCHIVE,)),
    Component(AUDIT, "bindings.azure.blobstorage", "output", (AUDIT_ARCHIVE,)),
    Component(ARCHIVE_TICK, "bindings.cron", "input", (AUDIT_ARCHIVE,)),
    Component(TILES, "state", None, (TILE_BUILDER, DASHBOARD)),
    Component(DASHBOARD_TICK, "bindings.cron", "input", (TILE_BUILDER,)),
)
