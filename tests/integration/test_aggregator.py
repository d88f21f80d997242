"""The aggregator through the real daprd and Redis: dunning, email and document effects counted once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from functions.common import domain_events, names
from functions.common.aggregates import Counts, Level, Levels, Tally, Totals, added_levels, summed
from tests.integration.helpers import publish_event
from tests.integration.test_payment_retry import failed, send
from tests.integration.test_stripe_webhook import log_lines
from tooling import deadletters, state_reader
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """payment-retry (ticking every second), receipt-render and the aggregator, on the local broker."""
    retry = AppSpec(
        names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "0.8"}
    )
    render = AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app")
    aggregator = AppSpec(names.AGGREGATOR, "functions.aggregator.app")
    return stack_factory(apps=[retry, render, aggregator], values={"RETRY_TICK_SCHEDULE": "@every 1s"})


def today(stack: Stack, topic: str = domain_events.DUNNING) -> dict[str, Tally]:
    """The aggregator's tallies of `topic` for today (UTC) from its totals keys; each equal to its counts'."""
    day = datetime.now(UTC).date().isoformat()
    database = stack.config.root / "state" / "aggregates.db"
    every = dict(state_reader.values(database, names.AGGREGATOR, ""))  # one query: one moment of the store
    counts = {name: value for name, value in every.items() if name.startswith(f"counts:{topic}:{day}:")}
    totals = {name: value for name, value in every.items() if name.startswith(f"totals:{topic}:{day}:")}
    assert {name.removeprefix("counts:") for name in counts} == {
        name.removeprefix("totals:") for name in totals
    }
    for name, value in counts.items():
        shard = Totals.model_validate_json(totals[name.replace("counts:", "totals:", 1)])
        assert shard == Totals.of(Counts.model_validate_json(value).tallies), name
    return summed([Totals.model_validate_json(value) for value in totals.values()])


def gauges(stack: Stack) -> dict[str, Level]:
    """The dunning gauges that are not zero, added up over their shards (read from the aggregator's store)."""
    database = stack.config.root / "state" / "aggregates.db"
    rows = state_reader.values(database, names.AGGREGATOR, f"gauges:{domain_events.DUNNING}:")
    levels = added_levels(Levels.model_validate_json(value).levels for _, value in rows)
    return {name: level for name, level in levels.items() if level != Level(count=0, amount=0)}


def publish(stack: Stack, event: dict[str, object], topic: str = domain_events.DUNNING) -> None:
    """Publish an event on `topic` through the aggregator's own daprd, as its publisher's would."""
    publish_event(stack, names.AGGREGATOR, topic, event)


def test_each_effect_of_a_recovered_case_is_counted_once(stack: Stack) -> None:
    """A soft decline recovered on its first retry: opened, a paid attempt and the recovery, each once."""
    for _ in range(3):
        send(stack, failed("cus_ok_agg", currency="chf", amount=1500))

    def counted() -> dict[str, Tally] | None:
        tallies = {name: tally for name, tally in today(stack).items() if name.startswith("CHF/")}
        # Topics are unordered: a case's `case.opened` may be counted after its recovery.
        every = ("CHF/opened", "CHF/charged.paid", "CHF/recovered")
        done = all(tallies.get(name, Tally(count=0, amount=0)).count >= 3 for name in every)
        return tallies if done else None

    tallies = eventually(counted, "three cases' opening, paid charge and recovery counted", timeout=90)
    # Whether the `payment_failed` email went before the retry depends on the customer's quiet hours.
    emails = {name: tally for name, tally in tallies.items() if name.startswith("CHF/recovered.after.")}
    assert set(emails) <= {"CHF/recovered.after.none", "CHF/recovered.after.payment_failed"}
    assert sum(tally.count for tally in emails.values()) == 3
    assert {name: tally for name, tally in tallies.items() if name not in emails} == {
        "CHF/opened": Tally(count=3, amount=4500),
        "CHF/charged.paid": Tally(count=3, amount=4500),
        "CHF/recovered": Tally(count=3, amount=4500),
        "CHF/recovered.step.1": Tally(count=3, amount=4500),
    }
    assert {name: level for name, level in gauges(stack).items() if name.startswith("CHF/")} == {}


def test_an_event_published_twice_is_counted_once(stack: Stack) -> None:
    """The same effect published again (a resent outbox item) is handled, and adds nothing."""
    case_id = f"pay_{uuid.uuid4().hex[:10]}"
    event = {
        "type": "case.opened", "version": 1, "event_id": f"{case_id}:opened", "case_id": case_id,
        "customer_id": "cus_twice", "occurred_at": datetime.now(UTC).isoformat(), "amount": 700,
        "currency": "SEK",
    }  # fmt: skip
    publish(stack, event)
    eventually(lambda: today(stack).get("SEK/opened"), "the first publication counted")
    publish(stack, event)

    def seen_again() -> bool:
        lines = log_lines(stack, names.AGGREGATOR)
        return any(line["message"] == f"counted already: {case_id}:opened" for line in lines)

    eventually(seen_again, "the second publication handled")
    assert today(stack)["SEK/opened"] == Tally(count=1, amount=700)


def test_an_email_event_published_twice_is_counted_once(stack: Stack) -> None:
    """An `email.sent` published twice (a redelivered request) counts once under its status and template."""
    request_id = f"req-{uuid.uuid4().hex[:10]}"
    event = {
        "type": "email.sent", "version": 1, "event_id": f"{request_id}:sent", "request_id": request_id,
        "template": "update_card", "occurred_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    publish(stack, event, domain_events.EMAIL)
    eventually(lambda: today(stack, domain_events.EMAIL).get("-/sent.update_card"), "the first counted")
    publish(stack, event, domain_events.EMAIL)

    def seen_again() -> bool:
        lines = log_lines(stack, names.AGGREGATOR)
        return any(line["message"] == f"counted already: {request_id}:sent" for line in lines)

    eventually(seen_again, "the second publication handled")
    assert today(stack, domain_events.EMAIL)["-/sent.update_card"] == Tally(count=1, amount=0)


def test_a_rendered_receipt_is_counted_once_however_often_it_is_requested(stack: Stack) -> None:
    """receipt-render publishes the issued receipt; a resent request publishes it again, counted once."""
    tag = uuid.uuid4().hex[:8]
    body = {
        "version": 1, "request_id": f"c-{tag}:receipt", "payment_id": f"c-{tag}", "customer_id": "cus_doc",
        "email": f"doc-{tag}@example.com", "amount": 4990, "currency": "NOK",
        "paid_at": "2026-03-04T05:06:07Z", "locale": "en",
    }  # fmt: skip
    queue = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    queue.send_message(json.dumps(body))
    counted = eventually(
        lambda: today(stack, domain_events.DOCUMENTS).get("NOK/rendered.receipt"), "the receipt counted",
        timeout=90,
    )  # fmt: skip
    assert counted == Tally(count=1, amount=4990)
    queue.send_message(json.dumps(body))  # already issued: published again, same id

    def seen_again() -> bool:
        lines = log_lines(stack, names.AGGREGATOR)
        return any(line["message"] == f"counted already: receipt:c-{tag}:rendered" for line in lines)

    eventually(seen_again, "the second publication handled", timeout=60)
    assert today(stack, domain_events.DOCUMENTS)["NOK/rendered.receipt"] == Tally(count=1, amount=4990)


def test_dead_letters_are_announced_and_counted_by_source(stack: Stack) -> None:
    """A bad payment event, a hostile dunning event: each record announced, counted once by its source."""
    before = today(stack, domain_events.DEAD_LETTERS)
    marker = uuid.uuid4().hex[:12]
    stack.queue_service().get_queue_client(names.PAYMENT_EVENTS).send_message(f"not json {marker}")
    publish(stack, {"version": 1, "type": "case.opened", "event_id": marker})  # fields missing
    sources = ("-/source.payment-events", f"-/source.{names.DOMAIN_EVENTS}/{domain_events.DUNNING}")

    zero = Tally(count=0, amount=0)

    def grown() -> dict[str, Tally] | None:
        now = today(stack, domain_events.DEAD_LETTERS)
        added = {name: now.get(name, zero).count - before.get(name, zero).count for name in sources}
        return now if all(count >= 1 for count in added.values()) else None

    after = eventually(grown, "both dead letters counted", timeout=90)
    records = [
        stored.record
        for stored in deadletters.records(stack.blob_service(), stack.resources)
        if marker in stored.record.body.decode(errors="replace")
    ]
    assert sorted((record.app, record.source) for record in records) == [
        (names.AGGREGATOR, f"{names.DOMAIN_EVENTS}/{domain_events.DUNNING}"),
        (names.PAYMENT_RETRY, names.PAYMENT_EVENTS),
    ]
    for name in sources:
        assert after[name].count - before.get(name, zero).count == 1
