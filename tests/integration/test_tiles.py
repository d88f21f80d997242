"""The tile builder through real daprds, Redis and sqlite: tiles of the counted events, gone after the TTL.

Events are published on the broker, counted by the aggregator, and the tile builder (ticking every
second, every tile refreshed every second and kept 4 s) builds the tiles from the counters. The tiles
are read as the dashboard reads them: through a daprd with the dashboard's app id, which loads only the
`tiles` store. Then the tile builder is stopped, and its tiles disappear once their TTL has passed.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bindings.messages import DeadLetterEvent
from functions.common import domain_events, money, names
from functions.common.document_events import DocumentEvent, document_event_id
from functions.common.domain_events import (
    DunningEvent,
    DunningEventType,
    EmailEvent,
    EmailEventType,
    dunning_event_id,
    email_event_id,
)
from functions.common.tiles import CATALOGUE, Tile
from tests.integration.test_aggregator import publish
from tooling import daprd, sidecar
from tooling.sidecar import AppSpec
from tooling.stack import Stack
from tooling.waiting import eventually

TTL = 4
IDS = [spec.id for spec in CATALOGUE]
# cases-by-step once every event is counted: step, open now, recovered, abandoned, canceled
STEPS = [["0", "1", "2", "0", "0"], ["1", "0", "0", "1", "0"]]


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """The aggregator and the tile builder (a tick a second, every tile due each second, kept 4 s)."""
    aggregator = AppSpec(names.AGGREGATOR, "functions.aggregator.app")
    env = {"TILE_REFRESH_SECONDS": "1", "TILE_TTL_SECONDS": str(TTL)}
    builder = AppSpec(names.TILE_BUILDER, "functions.tile_builder.app", env=env)
    return stack_factory(apps=[aggregator, builder], values={"DASHBOARD_TICK_SCHEDULE": "@every 1s"})


@pytest.fixture(scope="module")
def dashboard(stack: Stack) -> Iterator[int]:
    """The HTTP port of a daprd with the dashboard's app id (and no app): it loads the `tiles` store."""
    proc, ports = sidecar.start_alone(
        names.DASHBOARD, daprd=daprd.find_or_build(), resources=stack.resources,
        log=stack.log_dir / "dashboard-daprd.log",
    )  # fmt: skip
    yield ports.http
    proc.stop()


def tile(port: int, tile_id: str) -> Tile | None:
    """The tile as the dashboard's sidecar reads it from the `tiles` store; None when there is none."""
    key = urllib.parse.quote(f"tile:{tile_id}", safe="")
    url = f"http://127.0.0.1:{port}/v1.0/state/{names.TILES}/{key}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = answer.read()
    return Tile.model_validate_json(body) if answer.status == 200 and body else None


def dunning(kind: DunningEventType, case_id: str, failed: float = 1, **more: object) -> dict[str, object]:
    """A dunning event of `kind` now (version 2: its payment failed `failed` hours ago): 15.00 CHF."""
    now = datetime.now(UTC)
    event = DunningEvent.model_validate({
        "version": 2, "type": kind, "event_id": dunning_event_id(kind, case_id, more.get("attempt")),  # type: ignore[arg-type]
        "case_id": case_id, "customer_id": "cus_tiles", "occurred_at": now, "amount": 1500,
        "currency": "CHF", "failed_at": now - timedelta(hours=failed), **more,
    })  # fmt: skip
    return event.model_dump(mode="json", exclude_none=True)


def email(kind: EmailEventType, request_id: str, **more: object) -> dict[str, object]:
    """An email event of `kind` now (a provider's carries `provider_event_id`)."""
    provider = more.get("provider_event_id")
    event = EmailEvent.model_validate({
        "type": kind, "event_id": email_event_id(kind, request_id, provider),  # type: ignore[arg-type]
        "request_id": request_id, "template": "reminder", "occurred_at": datetime.now(UTC), **more,
    })  # fmt: skip
    return event.model_dump(mode="json", exclude_none=True)


def publish_run(stack: Stack) -> None:
    """Two recoveries, an abandon, an open case, two mails (one bounced), a receipt, a dead letter.

    Version 2 events: the recoveries at step 0, 2.5 h and 30.5 h after the failure, one after the
    payment_failed email; the abandon at step 1, published before its charge (so the gauges go below 0
    until the charge is counted).
    """
    run = uuid.uuid4().hex[:8]
    ends = (
        ("case.recovered", 2.5, {"step": 0}),
        ("case.recovered", 30.5, {"step": 0, "email_step": "payment_failed"}),
        ("case.abandoned", 40, {"step": 1, "email_step": "reminder"}),
    )
    for n, (end, failed, more) in enumerate(ends):
        publish(stack, dunning("case.opened", f"pay_{run}_{n}", failed, step=0))
        publish(stack, dunning(end, f"pay_{run}_{n}", failed, **more))  # type: ignore[arg-type]
    declined = {
        "attempt": 1,
        "outcome": "declined",
        "decline_class": "soft",
        "decline_code": "Insufficient Funds",
        "step": 1,
    }
    publish(stack, dunning("attempt.charged", f"pay_{run}_2", 40, **declined))
    publish(stack, dunning("case.opened", f"pay_{run}_3", 3, step=0))
    for n in range(2):
        publish(stack, email("email.sent", f"req-{run}-{n}"), domain_events.EMAIL)
    bounce = email("email.bounced", f"req-{run}-0", provider_event_id=f"sg-{run}", permanent=True)
    publish(stack, bounce, domain_events.EMAIL)
    document = DocumentEvent(
        type="document.rendered",
        event_id=document_event_id("receipt", f"r-{run}"), document_type="receipt", number=f"r-{run}",
        blob=f"receipts/r-{run}.pdf", size=1000, currency="CHF", amount=1500, occurred_at=datetime.now(UTC),
    )  # fmt: skip
    publish(stack, document.model_dump(mode="json"), domain_events.DOCUMENTS)
    letter = DeadLetterEvent(
        event_id=uuid.uuid4().hex, app=names.PAYMENT_RETRY, source=names.PAYMENT_EVENTS, kind="invalid",
        reason="not json", dequeue_count=1, blob="payment-retry/x.json", occurred_at=datetime.now(UTC),
    )  # fmt: skip
    publish(stack, letter.model_dump(mode="json"), domain_events.DEAD_LETTERS)


def shown(minor: int) -> str:
    """`minor` units of CHF as the tiles write them (money's own formatter)."""
    return money.format_money(money.to_amount(minor, "CHF"), "CHF", "en")


AT_RISK = [["CHF", "1", shown(1500)]]  # the case left open


def test_tiles_show_the_counted_events_and_expire_once_the_builder_stops(
    stack: Stack, dashboard: int
) -> None:
    """Each tile's figures are the events'; with the builder stopped, a tile is gone within its TTL."""
    publish_run(stack)

    def built() -> dict[str, Any] | None:
        found = {tile_id: tile(dashboard, tile_id) for tile_id in IDS}
        if not all(found.values()):
            return None
        data = {
            tile_id: found_tile.data.model_dump(mode="json")
            for tile_id, found_tile in found.items()
            if found_tile
        }
        counted = data["recovery-rate"]["figure"]["display"] == "66.7 %" and data["dead-letters"]["bars"]
        counted = counted and data["cases-by-step"]["rows"] == STEPS and data["at-risk"]["rows"] == AT_RISK
        return data if counted and data["documents-rendered"]["lines"][0]["figures"][-1]["value"] else None

    figures = eventually(built, "the tiles built from the counted events", timeout=90)
    assert figures["recovery-rate"]["figure"] == {"value": 66.7, "display": "66.7 %"}
    assert figures["lost"]["rows"] == [["CHF", shown(1500), shown(0), shown(1500), "1"]]
    assert figures["declines-by-class"]["bars"] == [
        {"label": "soft", "figure": {"value": 1.0, "display": "1"}}
    ]
    assert figures["decline-reasons"]["rows"] == [["insufficient_funds", "1", "100.0 %"]]
    emails = [(bar["label"], bar["figure"]["display"]) for bar in figures["emails-by-status"]["bars"]]
    assert emails == [("sent", "2"), ("bounced", "1")]
    assert figures["bounce-rate"]["figure"] == {"value": 50.0, "display": "50.0 %"}
    receipts, invoices = figures["documents-rendered"]["lines"]
    assert [figure["value"] for figure in receipts["figures"]] == [0.0] * 13 + [1.0]
    assert {figure["value"] for figure in invoices["figures"]} == {0.0}
    letters = figures["dead-letters"]["bars"]
    assert letters == [{"label": names.PAYMENT_EVENTS, "figure": {"value": 1.0, "display": "1"}}]
    [line] = figures["recovered-revenue"]["lines"]
    assert (line["label"], line["figures"][-1]) == ("CHF", {"value": 30.0, "display": shown(3000)})
    assert figures["at-risk"]["rows"] == AT_RISK
    assert figures["cases-by-step"]["rows"] == STEPS
    assert figures["time-to-recover"]["figure"] == {"value": 2.0, "display": "2 h"}  # 2 h and 30 h: the lower
    assert figures["time-to-recover"]["note"].startswith("30 days: the median of 2 recoveries")
    before = [(bar["label"], bar["figure"]["display"]) for bar in figures["recoveries-by-email"]["bars"]]
    assert before == [("no email", "1"), ("payment_failed", "1")]

    stack.apps[names.TILE_BUILDER].stop()
    stopped = time.monotonic()
    assert tile(dashboard, "recovery-rate") is not None  # built within the last second or two
    eventually(lambda: tile(dashboard, "recovery-rate") is None, "the tile to expire", timeout=TTL + 10)
    assert time.monotonic() - stopped <= TTL + 2  # sqlite's expiry counts whole seconds
