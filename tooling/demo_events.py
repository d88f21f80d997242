"""`make demo`'s domain events: what dunning published, what the aggregator counted, what was archived.

Published: the `dunning:{event id}` keys of the cases' sent messages (what payment-retry's outbox has
handed to the broker). Aggregated: the event ids the aggregator's shards have counted, and their
tallies. The demo waits until every published event is counted, then prints both side by side. Per
topic (`TOPICS`) it also waits until the events on the broker (distinct CloudEvent ids in the topic's
Redis stream), those the aggregator counted and the lines of the audit archive's blobs agree.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from functions.common import domain_events, names
from functions.common.aggregates import Counts, summed
from tooling import state_reader
from tooling.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from functions.payment_retry.model import Case
    from tooling.stack import Stack

_PREFIX = f"{domain_events.DUNNING}:"  # the outbox key of a dunning event: `dunning:{event id}`
_ATTEMPT = re.compile(r":attempt:\d+$")
TOPICS = (domain_events.DUNNING, domain_events.EMAIL, domain_events.DOCUMENTS, domain_events.DEAD_LETTERS)


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


def on_broker(stack: Stack, topic: str) -> set[str]:
    """The distinct CloudEvent ids published on `topic` (its Redis stream: a redelivery is not counted)."""
    return {str(json.loads(fields["data"])["id"]) for fields in stack.redis_stream(topic)}


def archived(stack: Stack, topic: str) -> int:
    """The events in the audit archive's blobs of `topic` (`audit/yyyy/mm/dd/{topic}.jsonl`), every day."""
    container = stack.blob_service().get_container_client(names.AUDIT)
    blobs = [blob.name for blob in container.list_blobs() if blob.name.endswith(f"/{topic}.jsonl")]
    return sum(len(container.download_blob(name).readall().splitlines()) for name in blobs)


def per_topic(stack: Stack) -> dict[str, dict[str, int]]:
    """Each topic's events published, aggregated and archived."""
    return {
        topic: {
            "published": len(on_broker(stack, topic)),
            "aggregated": sum(len(shard.seen) for shard in aggregated(stack, topic)),
            "archived": archived(stack, topic),
        }
        for topic in TOPICS
    }


def run(stack: Stack, cases: Callable[[], list[Case]], say: Callable[[str], None]) -> dict[str, Any]:
    """Wait until every published event is counted and archived, per topic; the counts, for the summary."""
    say("5. domain events: dunning publishes each effect on the broker; the aggregator counts each once")
    say("   and the audit archive writes each once to its day's blob (audit/yyyy/mm/dd/{topic}.jsonl)")

    def caught_up() -> bool:
        return sum(len(shard.seen) for shard in aggregated(stack)) == sum(published(cases()).values())

    eventually(caught_up, "the aggregator to count every published event", timeout=60)

    def agreeing() -> dict[str, dict[str, int]] | None:
        counts = per_topic(stack)
        return counts if all(len(set(c.values())) == 1 for c in counts.values()) else None

    topics = eventually(agreeing, "every published event aggregated and archived, per topic", 60, every=0.5)
    shards = aggregated(stack)
    tallies = summed(shards)
    email = summed(aggregated(stack, domain_events.EMAIL))
    return {
        "published": dict(sorted(published(cases()).items())),
        "aggregated": sum(len(shard.seen) for shard in shards),
        "tallies": {name: [tally.count, tally.amount] for name, tally in sorted(tallies.items())},
        "email": {name: tally.count for name, tally in sorted(email.items()) if name.count(".") == 0},
        "topics": topics,
    }


def describe(events: dict[str, Any]) -> list[str]:
    """The summary's lines for the domain events."""
    kinds = ", ".join(f"{kind} {count}" for kind, count in events["published"].items())
    lines = [f"  domain events     dunning: published {sum(events['published'].values())} ({kinds}),"]
    dunning = events["topics"][domain_events.DUNNING]
    lines.append(f"                    aggregated {events['aggregated']}, archived {dunning['archived']}")
    lines += [
        f"    - {name:24} {count} events, {amount} minor units"
        for name, (count, amount) in events["tallies"].items()
    ]
    email = ", ".join(f"{name.removeprefix('-/')} {count}" for name, count in events["email"].items())
    mail = events["topics"][domain_events.EMAIL]
    lines.append(
        f"                    email: published {mail['published']}, aggregated {mail['aggregated']}"
        f" ({email or 'nothing'}), archived {mail['archived']}"
    )
    for topic in (domain_events.DOCUMENTS, domain_events.DEAD_LETTERS):
        counts = events["topics"][topic]
        lines.append(
            f"                    {topic}: published {counts['published']},"
            f" aggregated {counts['aggregated']}, archived {counts['archived']}"
        )
    return lines
