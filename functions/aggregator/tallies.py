"""What a domain event adds to the day's counters: the dimensions it is counted under, with its amount.

Pure: no store, no Dapr. A dimension is `{currency}/{name}`: `EUR/opened`, `EUR/charged.declined`,
`EUR/declined.soft`, `EUR/code.insufficient_funds`… Each counts events (`count`) and sums their amounts
in minor units (`amount`). A declined attempt's code, free text from the processor, is counted in a safe
form (`safe_code`). An email event has no amount: its currency is `-` and its amount 0 (`-/sent`,
`-/opened.reminder`), nor has a dead letter (`-/source.payment-events`, `-/source.payment-events@07`:
the same by the UTC hour it was written in, `-/kind.invalid`).
A document event counts its total under `{currency}/rendered.{document_type}` (`EUR/rendered.invoice`).

A version 2 dunning event adds: on a close with its `step`, `{currency}/{end}.step.{step}`; on a
recovery, `{currency}/recovered.after.{email step}` (`none` when no email had gone) and, counted under
`-` by the whole hours from the failure to the recovery, `-/recovered.hours.{hours}` (at most
`HOURS_CAP`). With its `step` it moves the gauges of open cases, `{currency}/open.step.{step}`
(`dunning_moves`), which an all-time level holds: +1 and the amount at step 0 when opened; from the
step before to its own on a charge; -1 at its step on a close.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Final

from functions.common.aggregates import HOURS_CAP, Level

if TYPE_CHECKING:
    from bindings.messages import DeadLetterEvent
    from functions.common.document_events import DocumentEvent
    from functions.common.domain_events import DunningEvent, EmailEvent

_NAMES = {
    "case.opened": "opened",
    "case.recovered": "recovered",
    "case.abandoned": "abandoned",
    "case.canceled": "canceled",
}
CODE_LIMIT: Final = 60  # characters of a decline code kept in its dimension
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def safe_code(code: str) -> str:
    """A decline code as its dimension holds it (`Do Not Honor!` -> `do_not_honor`).

    Lower case; each run of characters other than letters, digits, `_` and `-` becomes one `_`; at most
    `CODE_LIMIT` characters; `other` when nothing is left.
    """
    return _UNSAFE.sub("_", code.lower()).strip("_")[:CODE_LIMIT] or "other"


def dunning_dimensions(event: DunningEvent) -> dict[str, int]:
    """The dimensions a dunning event counts under, each with the amount it adds."""
    money = event.currency
    if event.type != "attempt.charged":
        name = _NAMES[event.type]
        found = {f"{money}/{name}": event.amount}
        if event.step is not None and event.type != "case.opened":
            found[f"{money}/{name}.step.{event.step}"] = event.amount
        if event.type == "case.recovered" and event.failed_at is not None:
            found[f"{money}/recovered.after.{event.email_step or 'none'}"] = event.amount
            hours = (event.occurred_at - event.failed_at) // timedelta(hours=1)
            found[f"-/recovered.hours.{min(max(hours, 0), HOURS_CAP)}"] = 0
        return found
    found = {f"{money}/charged.{event.outcome}": event.amount}
    if event.decline_class is not None:
        found[f"{money}/declined.{event.decline_class}"] = event.amount
    if event.decline_code is not None:
        found[f"{money}/code.{safe_code(event.decline_code)}"] = event.amount
    return found


def dunning_moves(event: DunningEvent) -> dict[str, Level]:
    """How a dunning event with a `step` moves the open cases' gauges (none without one)."""
    if event.step is None:
        return {}
    at = f"{event.currency}/open.step."
    up, down = Level(count=1, amount=event.amount), Level(count=-1, amount=-event.amount)
    if event.type == "case.opened":
        return {f"{at}{event.step}": up}
    if event.type == "attempt.charged":
        return {f"{at}{event.step - 1}": down, f"{at}{event.step}": up}
    return {f"{at}{event.step}": down}


def email_dimensions(event: EmailEvent) -> dict[str, int]:
    """The dimensions an email event counts under: `-/{status}` and `-/{status}.{template}`, amount 0."""
    status = event.type.removeprefix("email.")
    return {f"-/{status}": 0, f"-/{status}.{event.template}": 0}


def document_dimensions(event: DocumentEvent) -> dict[str, int]:
    """The dimension a document event counts under: `{currency}/rendered.{document_type}`, its total."""
    return {f"{event.currency}/rendered.{event.document_type}": event.amount}


def dead_letter_dimensions(event: DeadLetterEvent) -> dict[str, int]:
    """The dimensions a dead letter counts under, amount 0: its source, its source by hour, its kind.

    `-/source.{source}`, `-/source.{source}@{HH}` (the UTC hour it was written in, so the last 24 hours
    can be summed over two days) and `-/kind.{kind}`.
    """
    hour = event.occurred_at.astimezone(UTC).hour
    return {
        f"-/source.{event.source}": 0,
        f"-/source.{event.source}@{hour:02d}": 0,
        f"-/kind.{event.kind}": 0,
    }
