"""The topic fault run's invariants on the counters' layout: dunning's dimensions, totals, gauges.

Read through an aggregator's daprd from PostgreSQL, like the rest of the run's counters.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common import aggregates, domain_events, names
from functions.common.aggregates import Counts, Level, Levels, Totals
from tests.reliability import effects
from tests.reliability.fleet import Fleet
from tests.reliability.report import Row

RUN_DAYS = tuple(sorted({datetime.now(UTC).date(), (datetime.now(UTC) + timedelta(hours=1)).date()}))
TOPICS = (domain_events.DUNNING, domain_events.EMAIL, domain_events.DOCUMENTS, domain_events.DEAD_LETTERS)
_EACH = ("opened", "charged.paid", "recovered")  # once per payment: the feeder's cases all recover
_OF_RECOVERIES = ("recovered.step.", "recovered.after.", "recovered.hours.")  # each adds up to them


def read(fleet: Fleet, keys: list[str]) -> dict[str, Any]:
    """The aggregator's `keys` as stored (JSON), absent ones left out."""
    return effects.state(fleet.stack, fleet.replicas[names.AGGREGATOR][0], names.AGGREGATES, keys)


def shards(fleet: Fleet, topic: str) -> list[dict[str, Any]]:
    """The aggregator's counts keys of `topic` on the run's days (tallies and the ids counted)."""
    return list(read(fleet, [key for day in RUN_DAYS for key in aggregates.shard_keys(topic, day)]).values())


def tallies(found: list[dict[str, Any]]) -> Counter[str]:
    """Counts by dimension without the currency (`opened`, `charged.paid`, `sent`, `rendered.receipt`...)."""
    total: Counter[str] = Counter()
    for shard in found:
        for name, tally in shard["tallies"].items():
            total[name.split("/", 1)[1]] += int(tally["count"])
    return total


def dunning_rows(fleet: Fleet, payments: int) -> list[Row]:
    """Opened, paid, recovered once a payment; recoveries by step, email step, hours add up; none open."""
    dunning, n = tallies(shards(fleet, domain_events.DUNNING)), payments
    rows: list[Row] = [
        (f"dunning counted: {name} (one per payment)", str(n), str(dunning[name]), dunning[name] == n)
        for name in _EACH
    ]
    for prefix in _OF_RECOVERIES:
        got = sum(count for name, count in dunning.items() if name.startswith(prefix))
        rows.append(
            (f"dunning counted: {prefix}* adds up to recovered", str(payments), str(got), got == payments)
        )
    others = sum(
        count for name, count in dunning.items() if name not in _EACH and not name.startswith(_OF_RECOVERIES)
    )
    rows.append(("dunning counted: anything else", "0", str(others), others == 0))
    gauges = read(fleet, [aggregates.gauges_key(domain_events.DUNNING, n) for n in range(aggregates.SHARDS)])
    levels = aggregates.added_levels(Levels.model_validate(shard).levels for shard in gauges.values())
    left = {name: str(level) for name, level in levels.items() if level != Level(count=0, amount=0)}
    rows.append(
        ("gauges: open cases left (all recovered)", "none", str(left or "none"), bool(gauges) and not left)
    )
    return rows


def layout_rows(fleet: Fleet) -> list[Row]:
    """Per topic, every shard's totals key holds exactly its counts key's tallies (one transaction)."""
    rows: list[Row] = []
    for topic in TOPICS:
        counts = read(fleet, [key for day in RUN_DAYS for key in aggregates.shard_keys(topic, day)])
        totals = read(fleet, [key for day in RUN_DAYS for key in aggregates.totals_keys(topic, day)])
        paired = {name: name.replace(aggregates.KEY_PREFIX, aggregates.TOTALS_PREFIX, 1) for name in counts}
        expected = {name: Totals.of(Counts.model_validate(shard).tallies) for name, shard in counts.items()}
        wrong = [
            name for name in counts if Totals.model_validate(totals.get(paired[name], {})) != expected[name]
        ]
        whole = bool(counts) and len(totals) == len(counts) and not wrong
        rows.append((f"{topic}: totals = counts' tallies, every shard", str(len(counts)),
                     str(len(counts) - len(wrong)), whole))  # fmt: skip
    return rows
