"""What a domain event adds to the day's counters: the dimensions it is counted under, with its amount.

Pure: no store, no Dapr. A dimension is `{currency}/{name}`: `EUR/opened`, `EUR/charged.declined`,
`EUR/declined.soft`, `EUR/code.insufficient_funds`… Each counts events (`count`) and sums their amounts
in minor units (`amount`). A declined attempt's code, free text from the processor, is counted in a safe
form (`safe_code`). An email event has no amount: its currency is `-` and its amount 0 (`-/sent`,
`-/opened.reminder`), nor has a dead letter (`-/source.payment-events`, `-/source.payment-events@07`:
the same by the UTC hour it was written in, `-/kind.invalid`).
A document event counts its total under `{currency}/rendered.{document_type}` (`EUR/rendered.invoice`).
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import TYPE_CHECKING, Final

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
        return {f"{money}/{_NAMES[event.type]}": event.amount}
    found = {f"{money}/charged.{event.outcome}": event.amount}
    if event.decline_class is not None:
        found[f"{money}/declined.{event.decline_class}"] = event.amount
    if event.decline_code is not None:
        found[f"{money}/code.{safe_code(event.decline_code)}"] = event.amount
    return found


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
