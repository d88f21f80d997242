"""Put a topic event back on the local broker as the entry a daprd publish writes (`pubsub.redis`).

What a publish through daprd writes, read in the sources daprd is built from: daprd wraps the data in a
CloudEvent (dapr `pkg/api/grpc/grpc.go` `PublishEvent`, `pkg/runtime/pubsub/cloudevents.go`;
components-contrib `pubsub/envelope.go` `NewCloudEventsEnvelope`: JSON data as JSON, binary data as
`data_base64`, anything else as a string) and `pubsub.redis` adds one entry to the stream named after
the topic, with fields `data` (the CloudEvent, JSON) and `metadata` (the publish's metadata, JSON:
here the `cloudevent.id` override) (components-contrib `pubsub/redis/redis.go` `Publish`).

What the subscriber then gets, per `datacontenttype` (dapr `pkg/runtime/pubsub/subscriptions.go`,
`GRPCEnvelopeFromSubscriptionMessage`): `data_base64` decoded, byte for byte; a `text/*` string as its
UTF-8 bytes; JSON data decoded and encoded again by Go (`tooling/go_json.py`). So a body goes back
as JSON only when that round trip gives its own bytes (which it does for every body daprd delivered as
JSON), as text when it is other UTF-8, as `data_base64` otherwise: each way the subscriber receives
exactly the original bytes.
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

from tooling import go_json, redis

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

BROKER = "pubsub.redis"
SOURCE = "bindery-dead-letters"  # the CloudEvent `source` (daprd's is the publishing app's id)
DEFAULT_TYPE = "com.dapr.event.sent"  # daprd's, for an event whose data names no `type`
_LOOPBACK = ("127.0.0.1", "localhost")
# Settings `redis.command` cannot honour (one plain connection to loopback, database 0), and their
# harmless values.
_UNSUPPORTED = ("redisUsername", "redisPassword", "enableTLS", "redisDB", "redisType", "failover")
_HARMLESS = ("", "false", "0", "node")


def event_id(message_id: str | None) -> tuple[str, bool]:
    """The CloudEvent id to send: the record's message id, else a fresh one (and True: it is new)."""
    if message_id:
        return message_id, False
    return str(uuid.uuid4()), True


def envelope(body: bytes, *, event_id: str, pubsub: str, topic: str, now: datetime) -> dict[str, Any]:
    """The CloudEvent daprd would write for `body` published with CloudEvent id `event_id`.

    The fields of `NewCloudEventsEnvelope`, with no trace (as daprd's without a span). `type` is the
    data's own `type` when it has one (as `DaprPublisher` publishes a domain event), else daprd's default.
    """
    cloud_event: dict[str, Any] = {
        "id": event_id,
        "specversion": "1.0",
        "source": SOURCE,
        "type": DEFAULT_TYPE,
        "topic": topic,
        "pubsubname": pubsub,
        "traceid": "",
        "traceparent": "",
        "tracestate": "",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if go_json.canonical(body):
        data = go_json.loads(body.decode("utf-8"))
        if isinstance(data, dict) and isinstance(data.get("type"), str) and data["type"]:
            cloud_event["type"] = data["type"]
        return {**cloud_event, "datacontenttype": "application/json", "data": data}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(body).decode("ascii")
        return {**cloud_event, "datacontenttype": "application/octet-stream", "data_base64": encoded}
    return {**cloud_event, "datacontenttype": "text/plain", "data": text}


def fields(cloud_event: Mapping[str, Any]) -> list[bytes]:
    """The stream entry's fields and values, as `pubsub.redis` writes them: `data`, `metadata`."""
    metadata = {"cloudevent.id": cloud_event["id"]}
    return [b"data", go_json.dumps(cloud_event).encode(), b"metadata", go_json.dumps(metadata).encode()]


def broker_port(pubsub: str, component: Mapping[str, Any]) -> int:
    """The loopback port of the `pubsub.redis` component's `redisHost`; ValueError saying why not."""
    if component["type"] != BROKER:
        raise ValueError(
            f"pub/sub {pubsub!r} is {component['type']}: a topic event can be redriven on {BROKER} "
            f"(the local broker) only"
        )
    meta = component["metadata"]
    unsupported = [name for name in _UNSUPPORTED if str(meta.get(name) or "").lower() not in _HARMLESS]
    if unsupported:
        raise ValueError(f"pub/sub {pubsub!r} sets {', '.join(unsupported)}, which redrive does not support")
    host = str(meta.get("redisHost") or "")
    if "${" in host:
        raise ValueError(
            f"pub/sub {pubsub!r} has no broker address ({host}): its broker is the local stack's "
            "Redis, so start the stack (`bindery run`) and redrive again"
        )
    name, _, port = host.rpartition(":")
    if name not in _LOOPBACK or not port.isdigit():
        raise ValueError(f"pub/sub {pubsub!r}: redisHost {host!r} is not a loopback host:port")
    return int(port)


def add(port: int, topic: str, cloud_event: Mapping[str, Any]) -> str:
    """XADD the event to the stream `topic` (no trimming, as the component writes); the entry's id."""
    reply = redis.command(port, "XADD", topic, "*", *fields(cloud_event))
    assert isinstance(reply, bytes)  # noqa: S101 - XADD answers the entry id
    return reply.decode()
