"""The topic fault run's invariants: each effect counted once and archived once, hostile events dead-lettered.

Effects are read where they land (the sandbox ledger, email-send's records, the PDFs in the blob store,
the dead-letter records); the counters through an aggregator's daprd from PostgreSQL; the archive from
its blobs in Azurite.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.common import domain_events, names
from tests.reliability import counter_invariants, effects
from tests.reliability.counter_invariants import RUN_DAYS, TOPICS, shards, tallies
from tests.reliability.fleet import Fleet
from tests.reliability.report import Row
from tests.reliability.workload import Sent

OUTAGE_FLOOR = 30.0  # seconds Redis is down (test_topic_faults.OUTAGE)


def hostile_events() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Per topic, a good event's fields and those without a default (dropping one makes it invalid)."""
    now = datetime.now(UTC).isoformat()
    return {
        domain_events.DUNNING: (
            {"version": 1, "type": "case.opened", "event_id": "pay_h:opened", "case_id": "pay_h",
             "customer_id": "cus_h", "occurred_at": now, "amount": 100, "currency": "EUR"},
            ["type", "event_id", "case_id", "customer_id", "occurred_at", "amount", "currency"],
        ),
        domain_events.EMAIL: (
            {"version": 1, "type": "email.sent", "event_id": "r-h:sent", "request_id": "r-h",
             "template": "reminder", "occurred_at": now},
            ["type", "event_id", "request_id", "template", "occurred_at"],
        ),
        domain_events.DOCUMENTS: (
            {"version": 1, "type": "document.rendered", "event_id": "receipt:R-h:rendered",
             "document_type": "receipt", "number": "R-h", "blob": "receipts/R-h-v1.pdf", "size": 900,
             "currency": "EUR", "amount": 100, "occurred_at": now},
            ["type", "event_id", "document_type", "number", "blob", "size", "currency", "amount",
             "occurred_at"],
        ),
        domain_events.DEAD_LETTERS: (
            {"version": 1, "event_id": "0" * 32, "app": "x", "source": "q", "kind": "invalid", "reason": "r",
             "dequeue_count": 1, "blob": "q/2026/01/01/x.json", "occurred_at": now},
            ["event_id", "app", "source", "kind", "reason", "dequeue_count", "blob", "occurred_at"],
        ),
    }  # fmt: skip


@dataclass(frozen=True)
class Expected:
    """What the run's good work and hostile events must have caused, read once the feeder stopped."""

    payments: int
    receipts: int
    invoices: int
    mails: list[str]  # email request ids
    hostile: dict[str, int]  # topic -> hostile events published on it

    @classmethod
    def of(cls, sent: Sent, hostile: dict[str, list[str]]) -> Expected:
        """From the feeder's record and the hostile events published."""
        pdfs = {kind: len(names_) for kind, names_ in sent.pdfs.items()}
        return cls(
            payments=len(sent.payments),
            receipts=pdfs.get("payment", 0) + pdfs.get("receipt", 0),
            invoices=pdfs.get("order", 0),
            mails=[rid for by_address in sent.mails.values() for rids in by_address.values() for rid in rids],
            hostile={topic: len(texts) for topic, texts in hostile.items()},
        )


def seen(found: list[dict[str, Any]]) -> Counter[str]:
    """Event ids the shards have counted, with how often (once each, if counting is right)."""
    return Counter(event_id for shard in found for event_id in shard["seen"])


def archived(fleet: Fleet, topic: str) -> Counter[str]:
    """Event ids in the archive's blobs of `topic` on the run's days, with how often each is there."""
    container = fleet.stack.blob_service().get_container_client(names.AUDIT)
    ids: Counter[str] = Counter()
    for day in RUN_DAYS:
        blob = container.get_blob_client(f"{day:%Y/%m/%d}/{topic}.jsonl")
        if not blob.exists():
            continue
        for line in blob.download_blob().readall().decode().splitlines():
            ids[json.loads(line)["event_id"]] += 1
    return ids


def counted(fleet: Fleet, expected: Expected) -> bool:
    """Whether the counters and the archive have caught up (the settle condition, not the check)."""
    dunning = tallies(shards(fleet, domain_events.DUNNING))
    if dunning["recovered"] < expected.payments:
        return False
    documents = tallies(shards(fleet, domain_events.DOCUMENTS))
    if documents["rendered.receipt"] + documents["rendered.invoice"] < expected.receipts + expected.invoices:
        return False
    if tallies(shards(fleet, domain_events.EMAIL))["sent"] < len(expected.mails):
        return False
    return all(set(archived(fleet, topic)) >= set(seen(shards(fleet, topic))) for topic in TOPICS)


def check(fleet: Fleet, sent: Sent, expected: Expected) -> list[Row]:
    """Every invariant of the run as table rows."""
    stack, n = fleet.stack, expected.payments
    rows: list[Row] = []
    charges = effects.charges(stack, sent.payments)
    once = charges == Counter({f"{case}:1": 1 for case in sent.payments})
    rows.append(("ledger: one charge per payment", str(n), str(charges.total()), once))
    rows += counter_invariants.dunning_rows(fleet, n)
    rows += counter_invariants.layout_rows(fleet)
    email_sidecar = fleet.replicas[names.EMAIL_SEND][0]
    records = effects.state(
        stack, email_sidecar, names.EMAIL_STATE, [f"email:{rid}" for rid in expected.mails]
    )
    recorded = sum(1 for value in records.values() if value.get("status") == "sent")
    emails = tallies(shards(fleet, domain_events.EMAIL))
    rows.append(("email counted: sent = records 'sent'", str(recorded), str(emails["sent"]),
                 emails["sent"] == recorded == len(expected.mails)))  # fmt: skip
    pdfs = effects.documents(stack)
    documents = tallies(shards(fleet, domain_events.DOCUMENTS))
    for kind, folder, want in (
        ("receipt", "receipts", expected.receipts),
        ("invoice", "invoices", expected.invoices),
    ):
        stored = sum(1 for name in pdfs if name in _names(sent, kind))
        got = documents[f"rendered.{kind}"]
        rows.append(
            (f"documents counted: {kind} = PDFs in {folder}/", str(stored), str(got), got == stored == want)
        )
    letters = effects.dead_letters(stack)
    dead = tallies(shards(fleet, domain_events.DEAD_LETTERS))
    by_source = Counter(stored.record.source for stored in letters)
    # `source.{source}` once per dead letter (`source.{source}@{HH}` counts the same again, by the hour)
    announced = sum(count for name, count in dead.items() if name.startswith("source.") and "@" not in name)
    rows.append(
        ("dead letters counted = records", str(len(letters)), str(announced), announced == len(letters))
    )
    for topic, count in expected.hostile.items():
        source = f"{names.DOMAIN_EVENTS}/{topic}"
        reasons = all(s.record.reason for s in letters if s.record.source == source)
        rows.append((f"hostile on {topic}: dead-lettered by both subscribers, with reasons", str(2 * count),
                     str(by_source[source]), by_source[source] == 2 * count and reasons))  # fmt: skip
        forwarded = len(stack.redis_stream(f"{topic}-dead"))  # at least once per subscriber's DROP
        rows.append((f"hostile on {topic}: forwarded to {topic}-dead", f">={2 * count}", str(forwarded),
                     forwarded >= 2 * count))  # fmt: skip
    stray = len(letters) - sum(by_source[f"{names.DOMAIN_EVENTS}/{topic}"] for topic in expected.hostile)
    rows.append(("dead letters of good work", "0", str(stray), stray == 0))
    for topic in TOPICS:
        ids, lines = seen(shards(fleet, topic)), archived(fleet, topic)
        twice = sum(1 for count in [*ids.values(), *lines.values()] if count > 1)
        rows.append((f"{topic}: archived = counted, each once", str(len(ids)), str(len(lines)),
                     set(ids) == set(lines) and not twice))  # fmt: skip
    rows += _faults(fleet)
    return rows


def _names(sent: Sent, kind: str) -> set[str]:
    """The PDFs' base names the feeder's work of `kind` must make (receipts: payments' and requests')."""
    kinds = ("payment", "receipt") if kind == "receipt" else ("order",)
    return {name for k in kinds for name in sent.pdfs.get(k, [])}


def _faults(fleet: Fleet) -> list[Row]:
    """The faults were injected, and every process (restarted or not) is running."""
    halves = Counter(half for _name, half, _took in fleet.kills)
    planned, took = fleet.outages.get("redis", (0.0, 0.0))
    dead = [name for name, running in fleet.stack.apps.items() if not running.app.alive()]
    dead += [f"{name}-daprd" for name, running in fleet.stack.apps.items() if not running.daprd.alive()]
    dead += [proc.name for proc in fleet.services() if not proc.alive()]
    total = 2 * len(fleet.stack.apps) + len(fleet.services())
    reasons, _ = effects.attempts(fleet.stack.log_dir)
    publishes = sum(1 for reason in reasons if f"publish to {names.DOMAIN_EVENTS}/" in reason)
    return [
        ("redis outage: publishes failed, messages redelivered", ">0", str(publishes), publishes > 0),
        ("subscribers: kill -9 and restart: app / daprd", "5 / 5", f"{halves['app']} / {halves['daprd']}",
         halves == Counter(app=5, daprd=5)),
        ("redis down, then back (s)", f">={OUTAGE_FLOOR:.0f}", f"{took:.1f}",
         planned >= OUTAGE_FLOOR and took >= planned),
        ("processes running (apps, sidecars, services)", str(total), str(total - len(dead)), not dead),
    ]  # fmt: skip
