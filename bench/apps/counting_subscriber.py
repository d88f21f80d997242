"""The counting baseline: a hand-written AppCallback subscriber that counts each DunningEvent once.

No FunctionApp, no pydantic: per event it does the work any aggregator must do to count once, the
way a minimal hand-written subscriber would. The CloudEvent's data is parsed with `json`; the shard
key (`functions.common.aggregates`' layout: `counts:{topic}:{day}:{shard}`, the shard by CRC-32 of the
event id, as `functions/aggregator/counters.py`) read through the Dapr SDK's gRPC client; an id seen
already answers SUCCESS; else the dimension tallies and the id are added and the shard written back
with its ETag (first-write concurrency, strong consistency, as `DaprStateStore` writes; insert-only
when the key was absent), read and written again on a lost race, up to 10 tries. Its keys are under
its own topic (`BENCH_TOPIC`), so it never shares a shard with the aggregator. Subscribed to
`BENCH_PUBSUB`/`BENCH_TOPIC`, served as `bare_subscriber.py` (8 worker threads).
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from datetime import UTC, datetime
from typing import Any

import grpc
from bare_subscriber import TOPIC, BareSubscriber, serve
from dapr.clients import DaprClient
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions
from dapr.proto.runtime.v1 import appcallback_pb2

from functions.common.aggregates import SHARDS, key

STORE, TRIES = "aggregates", 10
_OPTIONS = StateOptions(consistency=Consistency.strong, concurrency=Concurrency.first_write)
_LOST = {grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION}
_NAMES = {"case.opened": "opened", "case.recovered": "recovered", "case.abandoned": "abandoned",
          "case.canceled": "canceled"}  # fmt: skip
_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_ANSWER = appcallback_pb2.TopicEventResponse
_SUCCESS, _RETRY = _ANSWER(status=_ANSWER.SUCCESS), _ANSWER(status=_ANSWER.RETRY)
_lock, _clients = threading.Lock(), list[DaprClient]()


def _client() -> DaprClient:
    """The process's client, made on the first event (daprd is up by then), as `bindings.client`."""
    with _lock:
        if not _clients:
            _clients.append(DaprClient())
        return _clients[0]


def dimensions(event: dict[str, Any]) -> dict[str, int]:
    """What the event adds: `functions/aggregator/tallies.py`'s dunning dimensions, by hand."""
    money, amount = event["currency"], event["amount"]
    if event["type"] != "attempt.charged":
        return {f"{money}/{_NAMES[event['type']]}": amount}
    found = {f"{money}/charged.{event['outcome']}": amount}
    if event.get("decline_class") is not None:
        found[f"{money}/declined.{event['decline_class']}"] = amount
    if (code := event.get("decline_code")) is not None:
        found[f"{money}/code.{_UNSAFE.sub('_', code.lower()).strip('_')[:60] or 'other'}"] = amount
    return found


def count_once(name: str, event_id: str, adds: dict[str, int]) -> bool:
    """One read and one ETag-guarded write of shard `name`; False when the write lost the race."""
    client = _client()
    item = client.get_state(STORE, name)
    empty = {"version": 1, "tallies": {}, "seen": []}
    counts: dict[str, Any] = json.loads(item.data) if item.data else empty
    if event_id in counts["seen"]:
        return True
    tallies = counts["tallies"]
    for dimension, amount in adds.items():
        tally = tallies.setdefault(dimension, {"count": 0, "amount": 0})
        tally["count"] += 1
        tally["amount"] += amount
    counts["seen"].append(event_id)
    value = json.dumps(counts, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        client.save_state(STORE, name, value, etag=item.etag or None, options=_OPTIONS)
    except grpc.RpcError as error:
        if error.code() in _LOST or "etag mismatch" in str(error.details()).lower():
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
        name = key(TOPIC, day, zlib.crc32(event_id.encode()) % SHARDS)
        adds = dimensions(event)
        try:
            for _ in range(TRIES):
                if count_once(name, event_id, adds):
                    return _SUCCESS
        except grpc.RpcError:
            pass
        return _RETRY


if __name__ == "__main__":
    serve(CountingSubscriber())
