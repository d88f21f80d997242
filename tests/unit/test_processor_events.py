"""The card-processor sandbox's `GET /v1/events`, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.common import stripe_lists
from tests.unit.processor_helpers import (  # noqa: F401 - the *_fixture functions are pytest fixtures
    AUTH,
    call,
    ledger_path_fixture,
    pay,
    sandbox_fixture,
    transport_fixture,
)
from tooling.sandboxes.processor import RunningSandbox, start_sandbox
from tooling.sandboxes.processor_client import SandboxTransport

TYPES = ("invoice.payment_failed", "invoice.paid")


def _list(transport: SandboxTransport, limit: int = 100, starting_after: str | None = None) -> Any:
    request = stripe_lists.list_events(types=TYPES, created_gte=0, limit=limit, starting_after=starting_after)
    answer = transport.send(request)
    assert answer.status == 200, answer.body
    return json.loads(answer.body)


def _failed(transport: SandboxTransport, created: int | None = None) -> str:
    invoice = transport.create_invoice("cus_ok_1", 1250, "eur", email="a@example.com", subscription="sub_1")
    transport.fail_invoice(invoice, "soft", created=created)
    return invoice


def _get(port: int, query: str) -> tuple[int, Any]:
    reply = call(port, "GET", f"/v1/events?{query}", headers=AUTH)
    return reply.status, reply.json()


def test_events_never_delivered_are_listed_newest_first_in_stripes_list(transport: SandboxTransport) -> None:
    """With no webhook configured, the emitted events exist: a Stripe list, the latest `created` first."""
    old = _failed(transport, created=1_000)
    new = _failed(transport)
    paid = transport.send(pay(new))
    assert paid.status == 200
    listed = _list(transport)
    assert (listed["object"], listed["url"], listed["has_more"]) == ("list", "/v1/events", False)
    data = listed["data"]
    assert isinstance(data, list)
    assert [(e["type"], e["data"]["object"]["id"]) for e in data] == [
        ("invoice.paid", new), ("invoice.payment_failed", new), ("invoice.payment_failed", old)
    ]  # fmt: skip
    assert all(e["object"] == "event" and e["id"].startswith("evt_") for e in data)


def test_pages_follow_starting_after_until_has_more_is_false(transport: SandboxTransport) -> None:
    """`limit` cuts a page, `starting_after` the last id of it gives the next, older one."""
    invoices = [_failed(transport, created=2_000 + n) for n in range(3)]
    first = _list(transport, limit=2)
    assert first["has_more"] is True
    rest = _list(transport, limit=2, starting_after=first["data"][-1]["id"])
    assert rest["has_more"] is False
    pages = [*first["data"], *rest["data"]]
    assert [e["data"]["object"]["id"] for e in pages] == invoices[::-1]


def test_types_and_created_filter_the_list(sandbox: RunningSandbox, transport: SandboxTransport) -> None:
    """`types[]`, `type` with a wildcard and `created[gte|lte]` select as Stripe selects."""
    early, late = _failed(transport, created=5_000), _failed(transport, created=9_000)
    assert transport.send(pay(late)).status == 200
    status, body = _get(sandbox.port, "types[0]=invoice.paid")
    assert (status, [e["type"] for e in body["data"]]) == (200, ["invoice.paid"])
    status, body = _get(sandbox.port, "type=invoice.*&created[gte]=4000&created[lte]=6000")
    assert [e["data"]["object"]["id"] for e in body["data"]] == [early]
    status, body = _get(sandbox.port, "created=9000")
    assert [e["data"]["object"]["id"] for e in body["data"]] == [late]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("types[0]=invoice.paid&type=invoice.paid", "types"),
        ("&".join(f"types[{n}]=a.b{n}" for n in range(21)), "types"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("created[gte]=yesterday", "created[gte]"),
        ("starting_after=evt_unknown", "starting_after"),
        ("delivered=false", "delivered"),
    ],
    ids=["type-and-types", "21-types", "limit-0", "limit-text", "created-text", "unknown-cursor", "unknown"],
)
def test_a_query_stripe_refuses_is_a_400(sandbox: RunningSandbox, query: str, param: str) -> None:
    """Both type and types, 21 types, a bad limit or time, an unknown cursor or parameter: 400 naming it."""
    status, body = _get(sandbox.port, query)
    assert status == 400
    assert body["error"]["param"] == param


def test_the_list_needs_the_secret_key(sandbox: RunningSandbox) -> None:
    """Like every /v1 endpoint: no key, a 401."""
    reply = call(sandbox.port, "GET", "/v1/events")
    assert reply.error() == (401, "invalid_request_error")


def test_a_restarted_sandbox_still_lists_its_events(ledger_path: Path) -> None:
    """The events file next to the ledger keeps them: a new sandbox over it lists the same events."""
    first = start_sandbox(ledger_path)
    try:
        _failed(SandboxTransport(first.port))
        before = _list(SandboxTransport(first.port))
    finally:
        first.shutdown()
    assert ledger_path.with_name("ledger.events.jsonl").is_file()
    second = start_sandbox(ledger_path)
    try:
        assert _list(SandboxTransport(second.port)) == before
    finally:
        second.shutdown()
