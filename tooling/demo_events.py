"""`make demo`'s domain events: what dunning published, and what the aggregator counted of it.

Published: the `dunning:{event id}` keys of the cases' sent messages (what payment-retry's outbox has
handed to the broker). Aggregated: the event ids the aggregator's shards have counted, and their
tallies. The demo waits until every published event is counted, then prints both side by side.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from functions.aggregator.tallies import Counts, summed
from functions.common import domain_events, names
from tooling import state_reader
from tooling.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from functions.payment_retry.model import Case
    from tooling.stack import Stack

_PREFIX = f"{domain_events.DUNNING}:"  # the outbox key of a dunning event: `dunning:{event id}`
_ATTEMPT = re.compile(r":attempt:\d+$")


def published(cases: Iterable[Case]) -> Counter[str]:
    """The dunning events the cases' outboxes have sent, by type."""
    kinds: Counter[str] = Counter()
    for case in cases:
        for key in case.sent:
            if key.startswith(_PREFIX):
                event_id = key.removeprefix(_PREFIX)
                kinds[
                    "attempt.charged" if _ATTEMPT.search(event_id) else f"case.{event_id.rsplit(':', 1)[1]}"
                ] += 1
    return kinds


def aggregated(stack: Stack, topic: str = domain_events.DUNNING) -> list[Counts]:
    """Every shard of the aggregator's counters of `topic`, whatever the day."""
    database = stack.config.root / "state" / "aggregates.db"
    rows = state_reader.values(database, names.AGGREGATOR, f"counts:{topic}:")
    return [Counts.model_validate_json(value) for _, value in rows]


def run(stack: Stack, cases: Callable[[], list[Case]], say: Callable[[str], None]) -> dict[str, Any]:
    """Wait until the aggregator has counted every event dunning published; both, for the summary."""
    say("5. domain events: dunning publishes each effect on the broker; the aggregator counts each once")

    def caught_up() -> bool:
        return sum(len(shard.seen) for shard in aggregated(stack)) == sum(published(cases()).values())

    eventually(caught_up, "the aggregator to count every published event", timeout=60)
    shards = aggregated(stack)
    tallies = summed(shards)
    email = summed(aggregated(stack, domain_events.EMAIL))
    return {
        "published": dict(sorted(published(cases()).items())),
        "aggregated": sum(len(shard.seen) for shard in shards),
        "tallies": {name: [tally.count, tally.amount] for name, tally in sorted(tallies.items())},
        "email": {name: tally.count for name, tally in sorted(email.items()) if name.count(".") == 0},
    }


def describe(events: dict[str, Any]) -> list[str]:
    """The summary's lines for the domain events."""
    kinds = ", ".join(f"{kind} {count}" for kind, count in events["published"].items())
    lines = [f"  domain events     dunning: published {sum(events['published'].values())} ({kinds}),"]
    lines.append(f"                    aggregated {events['aggregated']} (archived: not built yet)")
    lines += [
        f"    - {name:24} {count} events, {amount} minor units"
        for name, (count, amount) in events["tallies"].items()
    ]
    email = ", ".join(f"{name.removeprefix('-/')} {count}" for name, count in events["email"].items())
    lines.append(f"                    email: aggregated so far {email or 'nothing yet'}")
    return lines
