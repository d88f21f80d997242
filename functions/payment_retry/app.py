"""payment-retry: dunning. Payment events open and close cases; the retry tick charges what is due."""

from __future__ import annotations

import functools
import os
import socket
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bindings.app import CronTick, FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprPublisher, DaprQueue, DaprStateStore
from bindings.settings import Setting
from functions.common import domain_events, names
from functions.common.stripe_gateway import DaprStripeTransport, StripeGateway
from functions.common.suppression import SuppressionList
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import Dunning
from functions.payment_retry.handlers import handle_event, handle_tick
from functions.payment_retry.model import AnyEvent, PaymentEvent

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

LEASE = Setting(
    "RETRY_LEASE_SECONDS", "120", "a claim's lease: how long a crashed replica's case waits for another"
)
TICK_BUDGET = Setting(
    "RETRY_TICK_BUDGET_SECONDS", "40", "a tick stops claiming after this; shorter than the cron interval"
)
SETTINGS = (LEASE, TICK_BUDGET)


@dataclass(frozen=True)
class RetrySettings:
    """payment-retry's settings, read once at start."""

    lease: timedelta
    tick_budget: timedelta

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RetrySettings:
        """Read and check the settings; `SettingsError` names a bad one."""
        return cls(lease=LEASE.seconds(environ), tick_budget=TICK_BUDGET.seconds(environ))


# Announces each dead letter on domain-events (`DeadLetterEvent`, topic dead-letters).
app = FunctionApp(names.PAYMENT_RETRY, events=DaprPublisher(names.DOMAIN_EVENTS))
clock = SystemClock()
state = DaprStateStore(names.STATESTORE)
gateway = StripeGateway(DaprStripeTransport(names.PAYMENT_GATEWAY))
email_requests = DaprQueue(names.EMAIL_REQUESTS_OUT)
receipt_requests = DaprQueue(names.RECEIPT_REQUESTS_OUT)
subscription_actions = DaprQueue(names.SUBSCRIPTION_ACTIONS_OUT)
# The dunning topic of domain-events: the outbox publishes each effect's event on it, as it sends emails.
dunning_events = domain_events.TopicQueue(DaprPublisher(names.DOMAIN_EVENTS), domain_events.DUNNING)


@functools.cache
def settings() -> RetrySettings:
    """The settings, from the environment on first use (at start)."""
    return RetrySettings.from_env(os.environ)


@functools.cache
def dunning() -> Dunning:
    """Dunning over this process's ports, as one owner of claims with the configured lease."""
    return Dunning(
        cases=CaseStore(state),
        gateway=gateway,
        queues={
            **{queue.binding: queue for queue in (email_requests, receipt_requests, subscription_actions)},
            domain_events.DUNNING_QUEUE: dunning_events,
        },
        owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        lease=settings().lease,
        suppressed=SuppressionList(DaprStateStore(names.EMAIL_STATE)),
    )


@app.on_start
def _start() -> None:
    """Read the settings and build dunning before the port opens, so every handler thread shares one owner."""
    dunning()


@app.queue(names.PAYMENT_EVENTS, model=PaymentEvent)
def on_payment_event(event: AnyEvent) -> None:
    """Open, close, wake or release cases; refused events are dead-lettered (`inbox`, `releases`)."""
    handle_event(dunning(), event, clock.now())


@app.cron(names.RETRY_TICK)
def on_tick(tick: CronTick) -> None:
    """Settle the cases due now, within the tick's time budget."""
    handle_tick(dunning(), tick.fired_at, budget=settings().tick_budget)


if __name__ == "__main__":
    app.run()
