"""What the payment-retry triggers do, over the engine and a time: shared by the app and the simulator."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from bindings.errors import PermanentError
from functions.payment_retry import releases
from functions.payment_retry.model import PaymentFailed, PaymentSucceeded
from functions.payment_retry.operator_events import CaseRelease
from functions.payment_retry.policy import UnknownPolicyError
from functions.payment_retry.tick import TickReport, run_tick

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timedelta

    from functions.payment_retry.dunning import Dunning
    from functions.payment_retry.model import AnyEvent

_log = logging.getLogger(__name__)


def handle_event(dunning: Dunning, event: AnyEvent, now: datetime) -> None:
    """Open, close, wake or release cases; `PermanentError` for what is refused (`inbox`, `releases`)."""
    try:
        if isinstance(event, PaymentFailed):
            dunning.on_failed(event, now)
        elif isinstance(event, PaymentSucceeded):
            dunning.on_succeeded(event, now)
        elif isinstance(event, CaseRelease):
            releases.on_release(dunning, event, now)
        else:
            dunning.on_method_updated(event, now)
    except UnknownPolicyError as error:
        raise PermanentError(str(error)) from error


def handle_tick(
    dunning: Dunning,
    now: datetime,
    *,
    budget: timedelta,
    monotonic: Callable[[], float] = time.monotonic,
) -> TickReport:
    """Settle the cases due at `now` within `budget`, and log what the tick did."""
    report = run_tick(dunning, now, budget=budget, monotonic=monotonic)
    level = logging.WARNING if report.errors or report.out_of_budget else logging.INFO
    if report.seen or level != logging.INFO:
        _log.log(
            level,
            "tick: %d due, %d settled, %d deferred, %d errors",
            report.seen,
            report.settled,
            report.deferred,
            report.errors,
            extra={"cursor": report.cursor, "out_of_budget": report.out_of_budget},
        )
    return report
