"""The processor sandbox's events: every one it emitted, kept, and listed as `GET /v1/events` lists them.

Each event is kept whether or not a webhook endpoint was configured to take it (without one, it exists
but was never delivered: exactly what an outage of the intake looks like). They live in memory and in a
JSON-lines file next to the ledger (`ledger.jsonl` → `ledger.events.jsonl`), so a restarted sandbox
still lists them. The list answers Stripe's parameters (`type` with a `*` wildcard, or up to 20
`types[]`; `created` or `created[gt|gte|lt|lte]`; `limit` 1 to 100, default 10; `starting_after`) in
Stripe's list shape, newest first (by `created`, then the later emitted first).
"""

from __future__ import annotations

import fnmatch
import operator
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from tooling.sandboxes.processor_ledger import JsonLines
from tooling.sandboxes.processor_stripe import Refusal

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

URL = "/v1/events"
_MAX_TYPES = 20
_TYPES = re.compile(r"^types\[\d*\]$")
_CREATED = re.compile(r"^created(?:\[(?P<op>gt|gte|lt|lte)\])?$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_COMPARE: dict[str | None, Callable[[int, int], bool]] = {
    None: operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


class EventLine(BaseModel):
    """One emitted event, as the events file keeps it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str
    type: str
    created: int
    event: dict[str, Any]


class Events(JsonLines[EventLine]):
    """The events file: every event the sandbox emitted, in the order emitted."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, EventLine)

    def keep(self, event: dict[str, Any]) -> None:
        """Append one emitted event."""
        self.append(EventLine(id=event["id"], type=event["type"], created=event["created"], event=event))

    def listed(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """The page a `GET /v1/events` query asks for (Stripe's list), or `Refusal` (400) as Stripe's."""
        match, limit, after = _query(pairs)
        emitted = list(enumerate(self.all()))  # ties in `created`: the later emitted first
        newest = [line for _, line in sorted(emitted, key=lambda p: (p[1].created, p[0]), reverse=True)]
        found = [line for line in newest if match(line)]
        if after is not None:
            ids = [line.id for line in found]
            if after not in ids:
                message = f"No such event: '{after}'"
                raise Refusal(400, message, code="resource_missing", param="starting_after")
            found = found[ids.index(after) + 1 :]
        data = [line.event for line in found[:limit]]
        return {"object": "list", "data": data, "has_more": len(found) > limit, "url": URL}


def events_path(ledger_path: Path) -> Path:
    """Where the events of the sandbox with this ledger live: `ledger.jsonl` → `ledger.events.jsonl`."""
    return ledger_path.with_name(ledger_path.stem + ".events.jsonl")


def _query(pairs: list[tuple[str, str]]) -> tuple[Callable[[EventLine], bool], int, str | None]:
    """What to match, the page size and the cursor of a query; `Refusal` for a parameter Stripe refuses."""
    types = [value for name, value in pairs if _TYPES.match(name)]
    named = {name: value for name, value in pairs if not _TYPES.match(name)}  # the last of a repeated one
    pattern, after = named.pop("type", None), named.pop("starting_after", None)
    limit = _integer("limit", named.pop("limit", "10"))
    bounds = []
    for name, value in named.items():
        if (created := _CREATED.match(name)) is None:
            raise Refusal(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
        bounds.append((_COMPARE[created["op"]], _integer(name, value)))
    if types and pattern is not None:
        raise Refusal(400, "You may pass either `type` or `types`, but not both.", param="types")
    if len(types) > _MAX_TYPES:
        raise Refusal(400, "You may pass at most 20 `types`.", param="types")
    if not 1 <= limit <= 100:  # noqa: PLR2004 - Stripe's page sizes
        raise Refusal(400, "This value must be between 1 and 100.", param="limit")

    def match(line: EventLine) -> bool:
        wanted = line.type in types if types else pattern is None or fnmatch.fnmatchcase(line.type, pattern)
        return wanted and all(compare(line.created, bound) for compare, bound in bounds)

    return match, limit, after


def _integer(name: str, value: str) -> int:
    if not _INTEGER.match(value):
        raise Refusal(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    return int(value)
