"""payment-retry: dunning. Payment events open and close cases; the retry tick charges what is due."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from bindings import names
from bindings.app import CronTick, FunctionApp
from bindings.clock import SystemClock
from bindings.dapr_ports import DaprPaymentGateway, DaprQueue, DaprStateStore
from bindings.suppression import SuppressionList
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import Dunning
from functions.payment_retry.handlers import handle_event, handle_tick
from functions.payment_retry.model import AnyEvent, PaymentEvent

app = FunctionApp(names.PAYMENT_RETRY)
clock = SystemClock()
state = DaprStateStore(names.STATESTORE)
gateway = DaprPaymentGateway(names.PAYMENT_GATEWAY)
email_requests = DaprQueue(names.EMAIL_REQUESTS_OUT)
receipt_requests = DaprQueue(names.RECEIPT_REQUESTS_OUT)
subscription_actions = DaprQueue(names.SUBSCRIPTION_ACTIONS_OUT)
dunning = Dunning(
    cases=CaseStore(state),
    gateway=gateway,
    queues={queue.binding: queue for queue in (email_requests, receipt_requests, subscription_actions)},
    owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
    # A claim's lease: how long a crashed replica's case waits before another takes it over.
    lease=timedelta(seconds=float(os.environ.get("RETRY_LEASE_SECONDS", "120"))),
    suppressed=SuppressionList(DaprStateStore(names.EMAIL_STATE)),
)
# Shorter than the cron interval, so a slow tick stops claiming before the next one fires.
TICK_BUDGET = timedelta(seconds=float(os.environ.get("RETRY_TICK_BUDGET_SECONDS", "40")))


@app.queue(names.PAYMENT_EVENTS, model=PaymentEvent)
def on_payment_event(event: AnyEvent) -> None:
    """Open, close, wake or release cases; refused events are dead-lettered (`inbox`, `releases`)."""
    handle_event(dunning, event, clock.now())


@app.cron(names.RETRY_TICK)
def on_tick(tick: CronTick) -> None:
    """Settle the cases due now, within the tick's time budget."""
    handle_tick(dunning, tick.fired_at, budget=TICK_BUDGET)


if __name__ == "__main__":
    app.run()
