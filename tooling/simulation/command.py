"""`bindery simulate`: a dunning campaign on a virtual clock against a fresh processor sandbox."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from functions.common.stripe_gateway import StripeGateway
from functions.payment_retry.report import money
from tooling.sandboxes.processor import start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport
from tooling.simulation import customers as campaign
from tooling.simulation import engine as simulate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DEFAULT_START = datetime(2026, 3, 1, tzinfo=UTC)  # spans the EU and US daylight-saving changes


@dataclass(frozen=True)
class Simulation:
    """A finished campaign with the sandbox's view of it."""

    days: int
    seed: int
    outcome: simulate.Outcome
    charges: int
    duplicate_charges: int  # ledger lines beyond the first for one (case, attempt)
    disagreements: int  # cases whose charges in the ledger differ from the attempts they record
    seconds: float


def run(
    *, days: int, customers: int, seed: int, start: datetime = DEFAULT_START, progress: TextIO | None = None
) -> Simulation:
    """Simulate `customers` failed payments over `days` days (failures arrive in the first third)."""
    if days < 1 or customers < 1:
        raise ValueError("--days and --customers must be at least 1")
    began = time.perf_counter()
    arrivals = timedelta(days=max(1, days // 3))
    people = campaign.customers(customers, seed=seed, start=start, arrivals=arrivals)
    with _quiet(), tempfile.TemporaryDirectory(prefix="bindery-simulate-") as folder:
        sandbox = start_sandbox(Path(folder) / "ledger.jsonl")
        try:
            transport = SandboxTransport(sandbox.port)
            for person in people:
                transport.script(person.customer_id, list(person.script))
            gateway = StripeGateway(transport)  # the very adapter a deployment points at Stripe
            outcome = simulate.run(
                people, start=start, days=days, gateway=gateway, progress=_bar(progress, days)
            )
            ledger = transport.ledger()
        finally:
            sandbox.shutdown()
    attempts = Counter((line["case_id"], line["attempt"]) for line in ledger)
    duplicates = sum(count - 1 for count in attempts.values())
    per_case = Counter(line["case_id"] for line in ledger)
    disagree = sum(per_case[case_id] != count for case_id, count in outcome.charged.items())
    seconds = time.perf_counter() - began
    return Simulation(days, seed, outcome, len(ledger), duplicates, disagree, seconds)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence per-case and per-request logs below ERROR: the report says what happened."""
    loggers = [logging.getLogger(name) for name in ("functions", "tooling.sandboxes.processor")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _bar(stream: TextIO | None, days: int) -> Callable[[float], None]:
    if stream is None:
        return lambda _: None
    live = stream.isatty()
    shown = [-1]

    def show(done: float) -> None:
        tenth = int(done * 10)
        if not live and tenth == shown[0]:
            return
        shown[0] = tenth
        filled = int(done * 30)
        line = f"[{'#' * filled}{'.' * (30 - filled)}] day {done * days:5.1f}/{days}"
        stream.write(f"\r{line}" if live else f"{line}\n")
        if live and done >= 1:
            stream.write("\n")
        stream.flush()

    return show


def describe(sim: Simulation) -> str:
    """The campaign as a short report."""
    out = sim.outcome
    head = f"Campaign: {out.customers} customers over {sim.days} days (seed {sim.seed}), "
    rows = [
        head + f"{out.ticks} ticks in {sim.seconds:.1f}s",
        "  cases       " + _counts(out.statuses),
        "  recovered   " + (", ".join(money(v, c) for c, v in sorted(out.recovered.items())) or "nothing"),
        "  emails      " + _counts(out.emails) + f" ({out.waiting} waiting for the customer's morning)",
        f"  charges     {sim.charges} in the processor ledger, {sim.duplicate_charges} duplicated, "
        f"{sim.disagreements} cases disagreeing with it; per case "
        + ", ".join(f"{n}: {count}" for n, count in sorted(out.charges_per_case.items())),
        f"  receipts    {out.receipts} requested;  subscription actions {_counts(out.actions) or 'none'}",
        "  published   " + (_counts(out.published) or "nothing") + f" ({out.event_ids} distinct ids)",
        "  by profile",
    ]
    rows += [f"    {name:16} {_counts(out.by_profile.get(name, Counter()))}" for name, _ in campaign.PROFILES]
    if out.rejected or out.tick_errors:
        rows.append(f"  problems    {len(out.rejected)} events rejected, {out.tick_errors} tick errors")
    return "\n".join(rows)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counter.most_common())
