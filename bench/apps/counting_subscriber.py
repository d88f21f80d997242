"""The counting baseline: a hand-written AppCallback subscriber that counts each DunningEvent once.

No FunctionApp, no pydantic: per event it does the work any aggregator must do to count once, the
way a minimal hand-written subscriber would, with the state calls `functions/aggregator/counters.py`
makes. The CloudEvent's data is parsed with `json`. The shard by CRC-32 of the event id; its keys in
`functions.common.aggregates`' layout: the counts key `counts:{topic}:{day}:{shard}` (tallies and the
ids counted), the totals key `totals:…` (the tallies alone) and, for an event that moves the open-cases
gauges (a version 2 event with its `step`), the gauges key `gauges:{topic}:{shard}`. One read: the
counts key (`GetState`), or it and the gauges key in one bulk read (`GetBulkState`), through the Dapr
SDK's gRPC client. An id seen already answers SUCCESS; else the dimension tallies and the id are added
and the keys written in one `ExecuteStateTransaction` through the SDK's raw gRPC stub, as
`DaprStateStore.transact`: the counts key and the gauges key each first-write with the ETag they were
read with (insert-only when absent), the totals key last-write; strong consistency. A lost guard rolls
the whole transaction back: read and written again, up to 10 tries. Its keys are under its own topic
(`BENCH_TOPIC`), so it never shares a shard with the aggregator. Subscribed to
`BENCH_PUBSUB`/`BENCH_TOPIC`, served as `bare_subscriber.py` (8 worker threads).
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from bare_subscriber import TOPIC, BareSubscriber, serve
from dapr.clients import DaprClient
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions
from dapr.proto import api_v1, common_v1
from dapr.proto.runtime.v1 import appcallback_pb2

from functions.common.aggregates import SHARDS, gauges_key, key, totals_key

STORE, TRIES = "aggregates", 10
_GUARDED = StateOptions(consistency=Consistency.strong, concurrency=Concurrency.first_write).get_proto()  # type: ignore[no-untyped-call]
_LAST_WRITE = StateOptions(consistency=Consistency.strong, concurrency=Concurrency.last_write).get_proto()  # type: ignore[no-untyped-call]
_LOST = {grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION}
_LOST_PHRASES = ("etag mismatch", "no item was updated")  # sqlite, PostgreSQL (as `bindings.errors`)
_NAMES = {"case.opened": "opened", "case.recovered": "recovered", "case.abandoned": "abandoned",
          "case.canceled": "canceled"}  # fmt: skip
_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_HOURS_CAP = 999
_ANSWER = appcallback_pb2.TopicEventResponse
_SUCCESS, _RETRY = _ANSWER(status=_ANSWER.SUCCESS), _ANSWER(status=_ANSWER.RETRY)
_lock, _clients = threading.Lock(), list[DaprClient]()
Moves = dict[str, tuple[int, int]]  # gauge -> (count, amount) it adds


def _client() -> DaprClient:
    """The process's client, made on the first event (daprd is up by then), as `bindings.client`."""
    with _lock:
        if not _clients:
            _clients.append(DaprClient())
        return _clients[0]


def dimensions(event: dict[str, Any]) -> dict[str, int]:
    """What the event adds: `functions/aggregator/tallies.py`'s dunning dimensions, by hand."""
    money, amount, kind, step = event["currency"], event["amount"], event["type"], event.get("step")
    if kind != "attempt.charged":
        found = {f"{money}/{_NAMES[kind]}": amount}
        if step is not None and kind != "case.opened":
            found[f"{money}/{_NAMES[kind]}.step.{step}"] = amount
        if kind == "case.recovered" and event.get("failed_at") is not None:
            found[f"{money}/recovered.after.{event.get('email_step') or 'none'}"] = amount
            took = datetime.fromisoformat(event["occurred_at"]) - datetime.fromisoformat(event["failed_at"])
            found[f"-/recovered.hours.{min(max(took // timedelta(hours=1), 0), _HOURS_CAP)}"] = 0
        return found
    found = {f"{money}/charged.{event['outcome']}": amount}
    if event.get("decline_class") is not None:
        found[f"{money}/declined.{event['decline_class']}"] = amount
    if (code := event.get("decline_code")) is not None:
        found[f"{money}/code.{_UNSAFE.sub('_', code.lower()).strip('_')[:60] or 'other'}"] = amount
    return found


def moves(event: dict[str, Any]) -> Moves:
    """How the event moves the open cases' gauges: `tallies.dunning_moves`, by hand."""
    step = event.get("step")
    if step is None:
        return {}
    at, amount = f"{event['currency']}/open.step.", event["amount"]
    if event["type"] == "case.opened":
        return {f"{at}{step}": (1, amount)}
    if event["type"] == "attempt.charged":
        return {f"{at}{step - 1}": (-1, -amount), f"{at}{step}": (1, amount)}
    return {f"{at}{step}": (-1, -amount)}


def _upsert(name: str, value: bytes, etag: str | None, *, guarded: bool) -> Any:  # noqa: ANN401 - protobuf
    """One operation of the transaction: guarded (first-write, with the ETag read) or last-write."""
    item = common_v1.StateItem(
        key=name,
        value=value,
        etag=common_v1.Etag(value=etag) if etag else None,
        options=_GUARDED if guarded else _LAST_WRITE,
    )
    return api_v1.TransactionalStateOperation(operationType="upsert", request=item)


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def count_once(names: tuple[str, str, str | None], event_id: str, adds: dict[str, int], by: Moves) -> bool:
    """One read and one transaction of the shard's (counts, totals, gauges) keys; False on a lost guard."""
    client = _client()
    name, totals, gauges = names
    data: bytes | str  # a bulk read's item answers `str`
    if gauges is None:
        got = client.get_state(STORE, name)
        data, etag, held = got.data, got.etag, None
    else:
        items = {item.key: item for item in client.get_bulk_state(STORE, [name, gauges], parallelism=2).items}
        data, etag, held = items[name].data, items[name].etag, items[gauges]
    counts: dict[str, Any] = json.loads(data) if data else {"version": 1, "tallies": {}, "seen": []}
    if event_id in counts["seen"]:
        return True
    tallies = counts["tallies"]
    for dimension, amount in adds.items():
        tally = tallies.setdefault(dimension, {"count": 0, "amount": 0})
        tally["count"] += 1
        tally["amount"] += amount
    counts["seen"].append(event_id)
    operations = [
        _upsert(name, _dumps(counts), etag or None, guarded=True),
        _upsert(totals, _dumps({"version": 1, "tallies": tallies}), None, guarded=False),
    ]
    if held is not None and gauges is not None:
        levels: dict[str, Any] = json.loads(held.data) if held.data else {"version": 1, "levels": {}}
        for gauge, (number, amount) in by.items():
            level = levels["levels"].setdefault(gauge, {"count": 0, "amount": 0})
            level["count"] += number
            level["amount"] += amount
        operations.append(
            _upsert(gauges, _dumps(levels), (held.etag or None) if held.data else None, guarded=True)
        )
    request = api_v1.ExecuteStateTransactionRequest(storeName=STORE, operations=operations)
    try:
        client._stub.ExecuteStateTransaction(request)  # noqa: SLF001 - the SDK drops per-operation options
    except grpc.RpcError as error:
        if error.code() in _LOST or any(phrase in str(error.details()).lower() for phrase in _LOST_PHRASES):
            return False
        raise
    return True


class CountingSubscriber(BareSubscriber):
    """The one subscription; every event counted once in the `aggregates` store."""

    def OnTopicEvent(self, request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC name
        """Count the event; RETRY (redelivery) when the store failed or every try lost the race."""
        event = json.loads(request.data)
        event_id = event["event_id"]
        day = datetime.fromisoformat(event["occurred_at"]).astimezone(UTC).date()
        shard = zlib.crc32(event_id.encode()) % SHARDS
        adds, by = dimensions(event), moves(event)
        names = (
            key(TOPIC, day, shard),
            totals_key(TOPIC, day, shard),
            gauges_key(TOPIC, shard) if by else None,
        )
        try:
            for _ in range(TRIES):
                if count_once(names, event_id, adds, by):
                    return _SUCCESS
        except grpc.RpcError:
            pass
        return _RETRY


if __name__ == "__main__":
    serve(CountingSubscriber())
