"""Redriving a topic's dead letter: the entry a daprd publish writes, and the bytes its subscriber gets."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bindings.messages import DeadLetter
from tooling import deadletters, go_json, redis, storage_cli, topic_redrive

NOW = datetime(2026, 12, 6, 20, 35, 25, tzinfo=UTC)
DAPR_DELIVERED = (
    b'{"amount":1250,"id":"e-1","note":"\\u003ca\\u0026b\\u003e \xc3\xa9","ratio":1e-7,"version":1}'
)
REDIS = {"type": "pubsub.redis", "metadata": {"redisHost": "127.0.0.1:6390", "redisDB": "0"}}


def build(body: bytes, event_id: str = "evt-1") -> dict[str, Any]:
    """The envelope for `body` on `domain-events/dunning` at NOW."""
    return topic_redrive.envelope(body, event_id=event_id, pubsub="domain-events", topic="dunning", now=NOW)


def subscriber_data(entry: list[bytes]) -> bytes:
    """The `data` daprd hands the app for an entry, as `GRPCEnvelopeFromSubscriptionMessage` reads it."""
    event = go_json.loads(dict(zip(entry[::2], entry[1::2], strict=True))[b"data"].decode())
    assert isinstance(event, dict)
    if event.get("data_base64") is not None:
        return base64.b64decode(event["data_base64"])
    data, kind = event.get("data"), event["datacontenttype"]
    if data is None:
        return b""
    if kind.startswith("text/"):
        return str(data).encode()
    assert kind == "application/json"
    return go_json.dumps(data).encode()


def fake_command(sent: list[tuple[Any, ...]]) -> Any:
    """A `redis.command` that keeps each call's arguments and answers an entry id."""

    def command(*args: Any) -> bytes:
        sent.append(args)
        return b"1-0"

    return command


def record(message_id: str | None, source: str = "domain-events/dunning") -> DeadLetter:
    """A topic dead letter of DAPR_DELIVERED."""
    return DeadLetter(
        id="f" * 32, app="aggregator", source=source, reason="PermanentError: no", kind="permanent",
        dequeue_count=1, message_id=message_id, dead_lettered_at=NOW,
        body_b64=DeadLetter.encode_body(DAPR_DELIVERED),
    )  # fmt: skip


def test_a_body_daprd_delivered_as_json_goes_back_as_json_data() -> None:
    """The JSON daprd handed the app (Go's encoding) is fixed by another round trip: it goes back as JSON."""
    event = build(DAPR_DELIVERED)
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["note"] == "<a&b> é"
    assert go_json.dumps(event["data"]).encode() == DAPR_DELIVERED


def test_json_that_daprd_would_re_encode_goes_back_as_text() -> None:
    """Spaces, a key twice, an integer past float64's precision: JSON data would change, so text/plain."""
    for body in (b'{"id": "e-1"}', b'{"a":1,"a":2}', b'{"n":12345678901234567890}', b"null", b"NaN"):
        event = build(body)
        assert (event["datacontenttype"], event["data"]) == ("text/plain", body.decode())


def test_a_body_that_is_not_utf8_goes_back_as_data_base64() -> None:
    """Bytes that are not text travel as `data_base64` (application/octet-stream), as daprd sends binary."""
    event = build(b"\xff\x00binary")
    assert event["datacontenttype"] == "application/octet-stream"
    assert "data" not in event
    assert base64.b64decode(event["data_base64"]) == b"\xff\x00binary"


def test_the_envelope_has_the_cloudevent_fields_of_a_daprd_publish() -> None:
    """id, specversion 1.0, source, type, topic, pubsubname, empty trace fields, an RFC 3339 time in UTC."""
    event = build(b"plain")
    assert {key: value for key, value in event.items() if key not in ("data", "datacontenttype")} == {
        "id": "evt-1", "specversion": "1.0", "source": "bindery-dead-letters", "type": "com.dapr.event.sent",
        "topic": "dunning", "pubsubname": "domain-events", "traceid": "", "traceparent": "", "tracestate": "",
        "time": "2026-12-06T20:35:25Z",
    }  # fmt: skip


def test_the_type_is_the_data_s_own_type_as_the_publisher_set_it() -> None:
    """JSON data with a `type` (a domain event) keeps it as the CloudEvent type, as `DaprPublisher` does."""
    assert build(b'{"type":"case.opened"}')["type"] == "case.opened"
    assert build(b'{"type":""}')["type"] == "com.dapr.event.sent"


def test_the_stream_entry_is_the_go_encoded_envelope_and_the_id_override() -> None:
    """Fields `data` (the CloudEvent as Go writes it: keys sorted, compact), `metadata` (`cloudevent.id`)."""
    entry = topic_redrive.fields(build(DAPR_DELIVERED))
    assert entry[0::2] == [b"data", b"metadata"]
    assert entry[1].startswith(
        b'{"data":' + DAPR_DELIVERED + b',"datacontenttype":"application/json","id":"evt-1"'
    )
    assert json.loads(entry[3]) == {"cloudevent.id": "evt-1"}


@given(st.binary(max_size=64) | st.text(max_size=32).map(str.encode))
def test_the_subscriber_gets_any_body_back_byte_for_byte(body: bytes) -> None:
    """Whatever the bytes, daprd's subscriber side turns the entry back into exactly them."""
    assert subscriber_data(topic_redrive.fields(build(body))) == body


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@given(json_values.filter(lambda value: value is not None))
def test_json_as_daprd_encodes_it_round_trips_as_json(value: object) -> None:
    """Any JSON value daprd delivered (Go's encoding) goes back as JSON and arrives byte for byte."""
    body = go_json.dumps(value).encode()
    event = build(body)
    assert event["datacontenttype"] == "application/json"
    assert subscriber_data(topic_redrive.fields(event)) == body


@pytest.mark.parametrize(
    ("value", "written"),
    [(100.0, "100"), (-0.0, "-0"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-6, "0.000001"),
     (1.5e-7, "1.5e-7"), (2.5e-10, "2.5e-10"), (0.1, "0.1"), (12345678901234567890, "12345678901234567000"),
     ('<&>\u2028\b\x01\x7f"\\/', '"\\u003c\\u0026\\u003e\\u2028\\b\\u0001\x7f\\"\\\\/"'),
     ({"b": [True, None], "a": 1, "é": ""}, '{"a":1,"b":[true,null],"é":""}')],
)  # fmt: skip
def test_values_are_written_as_go_s_encoding_json_writes_them(value: object, written: str) -> None:
    """Numbers as Go formats a float64, strings with Go's escapes, object keys sorted, no spaces."""
    assert go_json.dumps(value) == written


def test_the_record_s_message_id_is_kept_and_a_missing_one_is_made() -> None:
    """The original CloudEvent id goes back as it was; without one, a fresh UUID, said to be new."""
    assert topic_redrive.event_id("evt-1") == ("evt-1", False)
    for missing in (None, ""):
        made, fresh = topic_redrive.event_id(missing)
        assert fresh
        assert uuid.UUID(made)


def test_the_broker_port_is_read_from_the_rendered_redis_host() -> None:
    """`redisHost` 127.0.0.1:PORT (or localhost) gives the port the entry is added on."""
    assert topic_redrive.broker_port("domain-events", REDIS) == 6390
    localhost = {"type": "pubsub.redis", "metadata": {"redisHost": "localhost:6379"}}
    assert topic_redrive.broker_port("domain-events", localhost) == 6379


@pytest.mark.parametrize(
    ("component", "reason"),
    [({"type": "pubsub.azure.servicebus.topics", "metadata": {}}, "is pubsub.azure.servicebus.topics"),
     ({"type": "pubsub.redis", "metadata": {"redisHost": "${REDIS_HOST}"}}, r"start the stack \(`bindery"),
     ({"type": "pubsub.redis", "metadata": {"redisHost": "redis.example:6379"}}, "not a loopback"),
     ({"type": "pubsub.redis", "metadata": {"redisHost": "127.0.0.1:1", "redisPassword": "x"}}, "redisPass"),
     ({"type": "pubsub.redis", "metadata": {"redisHost": "127.0.0.1:1", "redisDB": "2"}}, "redisDB")],
)  # fmt: skip
def test_a_broker_redrive_cannot_reach_is_refused_with_the_reason(
    component: dict[str, Any], reason: str
) -> None:
    """Another pub/sub type (named), an unrendered host, a remote host, a password or database: refused."""
    with pytest.raises(ValueError, match=reason):
        topic_redrive.broker_port("domain-events", component)


def test_a_topic_dead_letter_is_added_to_its_stream_under_its_message_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """XADD on the broker's port, stream = topic, CloudEvent id = the record's message id; `pubsub/topic`."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(redis, "command", fake_command(sent))
    where = deadletters.redrive_topic(record("evt-9"), {"domain-events": REDIS})
    assert where == "domain-events/dunning"
    [(port, verb, stream, star, *entry)] = sent
    assert (port, verb, stream, star) == (6390, "XADD", "dunning", "*")
    assert json.loads(entry[1])["id"] == "evt-9"
    assert subscriber_data(entry) == DAPR_DELIVERED


def test_a_dead_letter_without_a_message_id_is_redriven_under_a_new_one_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No message id: a fresh CloudEvent id, and a warning naming the record and the new id."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(redis, "command", fake_command(sent))
    with caplog.at_level(logging.WARNING, logger="bindery"):
        deadletters.redrive_topic(record(None), {"domain-events": REDIS})
    made = json.loads(sent[0][5])["id"]
    assert f"dead letter {'f' * 32} has no message id: redriven as the new CloudEvent {made}" in caplog.text


def test_a_topic_dead_letter_of_another_broker_type_is_refused_naming_it() -> None:
    """A pub/sub that is not pubsub.redis: RedriveError naming the record, the component and its type."""
    servicebus = {"type": "pubsub.azure.servicebus.topics", "metadata": {}}
    with pytest.raises(
        deadletters.RedriveError, match=r"domain-events' is pubsub\.azure\.servicebus\.topics"
    ):
        deadletters.redrive_topic(record("evt-1"), {"domain-events": servicebus})
    with pytest.raises(deadletters.RedriveError, match="no pub/sub component 'elsewhere'"):
        deadletters.redrive_topic(record("evt-1", source="elsewhere/dunning"), {"domain-events": REDIS})


def test_an_unreachable_broker_is_a_redrive_error() -> None:
    """Nothing listening on the port: RedriveError naming the pub/sub and the port, not a traceback."""
    closed = {"type": "pubsub.redis", "metadata": {"redisHost": "127.0.0.1:1"}}
    with pytest.raises(
        deadletters.RedriveError, match="the broker of 'domain-events' \\(port 1\\) is unreachable"
    ):
        deadletters.redrive_topic(record("evt-1"), {"domain-events": closed})


def test_the_cli_says_where_each_dead_letter_went_from_the_running_stack_s_components(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dead-letters redrive --all` reads the running stack's rendered components; prints topic or queue."""
    from azure.storage.blob import BlobServiceClient  # noqa: PLC0415 - the Azure SDKs load slowly
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415

    rendered = tmp_path / "components"
    rendered.mkdir()
    rows = [
        deadletters.Stored("a.json", record("evt-1")),
        deadletters.Stored("b.json", record("m-1", "probe-in")),
    ]
    used: list[Path] = []

    def fake_redrive(stored: deadletters.Stored, _blobs: object, _queues: object, folder: Path) -> str:
        used.append(folder)
        return stored.record.source

    monkeypatch.setattr(storage_cli, "storage", lambda: contextlib.nullcontext("connection"))
    monkeypatch.setattr(storage_cli, "running", lambda: {"blob_port": 1})
    monkeypatch.setattr(storage_cli, "rendered_components", lambda: rendered)
    monkeypatch.setattr(BlobServiceClient, "from_connection_string", lambda _c: None)
    monkeypatch.setattr(QueueServiceClient, "from_connection_string", lambda _c: None)
    monkeypatch.setattr(deadletters, "records", lambda _blobs, _folder: iter(rows))
    monkeypatch.setattr(deadletters, "redrive", fake_redrive)
    assert storage_cli.dead_letters(argparse.Namespace(action="redrive", all=True, id=None)) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"redriven {'f' * 32} -> topic domain-events/dunning",
        f"redriven {'f' * 32} -> queue probe-in",
    ]
    assert used == [rendered, rendered]
