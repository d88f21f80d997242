"""payment-retry: dunning. Payment events open and close cases; the retry tick charges what is due."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from bindings import names
from bindings.app import CronTick, FunctionApp
from bindings.dapr_ports import DaprPaymentGateway, DaprQueue, DaprStateStore
from bindings.errors import PermanentError
from functions.payment_retry.cases import CaseStore
from functions.payment_retry.dunning import Dunning
from functions.payment_retry.model import PaymentEvent, PaymentFailed, PaymentMethodUpdated, PaymentSucceeded
from functions.payment_retry.policy import UnknownPolicyError
from functions.payment_retry.tick import run_tick

_log = logging.getLogger(__name__)
app = FunctionApp(names.PAYMENT_RETRY)
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
)
# Shorter than the cron interval, so a slow tick stops claiming before the next one fires.
TICK_BUDGET = timedelta(seconds=float(os.environ.get("RETRY_TICK_BUDGET_SECONDS", "40")))


@app.queue(names.PAYMENT_EVENTS, model=PaymentEvent)
def on_payment_event(event: PaymentFailed | PaymentSucceeded | PaymentMethodUpdated) -> None:
    """Open, close or wake cases; events naming unknown policies or cases are dead-lettered."""
    now = datetime.now(UTC)
    try:
        if isinstance(event, PaymentFailed):
            dunning.on_failed(event, now)
        elif isinstance(event, PaymentSucceeded):
            if dunning.cases.get(event.payment_id)[0] is None:
                raise PermanentError(f"payment.succeeded for {event.payment_id}: no such case")
            dunning.on_succeeded(event, now)
        else:
            dunning.on_method_updated(event, now)
    except UnknownPolicyError as error:
        raise PermanentError(str(error)) from error


@app.cron(names.RETRY_TICK)
def on_tick(tick: CronTick) -> None:
    """Settle the cases due now, within the tick's time budget."""
    report = run_tick(dunning, tick.fired_at, budget=TICK_BUDGET)
    level = logging.WARNING if report.errors or report.out_of_budget else logging.INFO
    _log.log(
        level,
        "tick: %d due, %d settled, %d deferred, %d errors",
        report.seen,
        report.settled,
        report.deferred,
        report.errors,
        extra={"cursor": report.cursor, "out_of_budget": report.out_of_budget},
    )


if __name__ == "__main__":
    app.run()
