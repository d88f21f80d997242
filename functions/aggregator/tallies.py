"""What a domain event adds to the day's counters: the dimensions it is counted under, with its amount.

Pure: no store, no Dapr. A dimension is `{currency}/{name}`: `EUR/opened`, `EUR/charged.declined`,
`EUR/declined.soft`… Each counts events (`count`) and sums their amounts in minor units (`amount`).
An email event has no amount: its currency is `-` and its amount 0 (`-/sent`, `-/opened.reminder`),
nor has a dead letter (`-/source.payment-events`, `-/kind.invalid`).
A document event counts its total under `{currency}/rendered.{document_type}` (`EUR/rendered.invoice`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Tally(BaseModel):
    """Events counted under one dimension, and the sum of their amounts (minor units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=0)
    amount: int = Field(ge=0)

    def plus(self, other: Tally) -> Tally:
        """The two tallies added."""
        return Tally(count=self.count + other.count, amount=self.amount + other.amount)


class Counts(BaseModel):
    """One shard of a day's counters for a topic, with the ids of the events it has counted (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    tallies: dict[str, Tally] = {}
    seen: tuple[str, ...] = ()

    def counted(self, event_id: str, dimensions: dict[str, int]) -> Counts:
        """These counts with one more event (`event_id`) under each of `dimensions` (name -> amount)."""
        tallies = dict(self.tallies)
        for name, amount in dimensions.items():
            tallies[name] = tallies.get(name, Tally(count=0, amount=0)).plus(Tally(count=1, amount=amount))
        return Counts(tallies=tallies, seen=(*self.seen, event_id))


def dunning_dimensions(event: DunningEvent) -> dict[str, int]:
    """The dimensions a dunning event counts under, each with the amount it adds."""
    money = event.currency
    if event.type != "attempt.charged":
        return {f"{money}/{_NAMES[event.type]}": event.amount}
    found = {f"{money}/charged.{event.outcome}": event.amount}
    if event.decline_class is not None:
        found[f"{money}/declined.{event.decline_class}"] = event.amount
    return found


def email_dimensions(event: EmailEvent) -> dict[str, int]:
    """The dimensions an email event counts under: `-/{status}` and `-/{status}.{template}`, amount 0."""
    status = event.type.removeprefix("email.")
    return {f"-/{status}": 0, f"-/{status}.{event.template}": 0}


def document_dimensions(event: DocumentEvent) -> dict[str, int]:
    """The dimension a document event counts under: `{currency}/rendered.{document_type}`, its total."""
    return {f"{event.currency}/rendered.{event.document_type}": event.amount}


def dead_letter_dimensions(event: DeadLetterEvent) -> dict[str, int]:
    """The dimensions a dead letter counts under: `-/source.{source}` and `-/kind.{kind}`, amount 0."""
    return {f"-/source.{event.source}": 0, f"-/kind.{event.kind}": 0}


def summed(shards: list[Counts]) -> dict[str, Tally]:
    """The tallies of every shard of a day, added up by dimension."""
    total: dict[str, Tally] = {}
    for shard in shards:
        for name, tally in shard.tallies.items():
            total[name] = total[name].plus(tally) if name in total else tally
    return total
