"""The AppCallback server daprd calls, through a real gRPC channel with the generated client stubs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence

import grpc
import pytest
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc
from google.protobuf import empty_pb2

from bindings import server
from bindings.errors import RedeliverError
from bindings.guard import Guard
from bindings.topics import BulkDelivery, Subscription, TopicEntry, TopicStatus
from tooling.paths import project_root

TOKEN = "s3cret"
BULK = BulkDelivery(max_messages=50, max_await_ms=200)
AUTH = (("dapr-api-token", TOKEN),)
Seen = list[tuple[str, bytes, dict[str, str]]]


@pytest.fixture
def served() -> Iterator[tuple[grpc.Channel, Seen]]:
    """A started server for bindings `orders`, `ticks`, topics `bus/paid`, `bus/bulk` (batches), recording."""
    seen: Seen = []

    def handle(binding: str, data: bytes, metadata: Mapping[str, str]) -> None:
        if data == b"fail":
            raise RedeliverError("attempt 1 failed: boom")
        seen.append((binding, data, dict(metadata)))

    def handle_topic(pubsub: str, topic: str, event_id: str, data: bytes) -> TopicStatus:
        seen.append((f"{pubsub}/{topic}", data, {"id": event_id}))
        return TopicStatus(data.decode()) if data in {b"retry", b"drop"} else TopicStatus.SUCCESS

    def handle_batch(pubsub: str, topic: str, entries: Sequence[TopicEntry]) -> list[TopicStatus]:
        return [handle_topic(pubsub, topic, f"{e.entry_id}:{e.event_id}", e.data) for e in entries]

    subscriptions = (Subscription("bus", "paid", "paid-dead"), Subscription("bus", "bulk", "bulk-dead", BULK))
    callbacks = server.Callbacks(("orders", "ticks"), handle, subscriptions, handle_topic, handle_batch)
    grpc_server = server.build(callbacks, guard=Guard(TOKEN), workers=2)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel, seen
    grpc_server.stop(0)


def _event(
    channel: grpc.Channel, name: str, data: bytes, *, metadata: tuple[tuple[str, str], ...] = AUTH
) -> object:
    stub = appcallback_pb2_grpc.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
    request = appcallback_pb2.BindingEventRequest(name=name, data=data, metadata={"dequeueCount": "2"})
    return stub.OnBindingEvent(request, metadata=metadata, timeout=5)


def test_lists_the_input_bindings(served: tuple[grpc.Channel, Seen]) -> None:
    """ListInputBindings answers the registered bindings, in registration order."""
    stub = appcallback_pb2_grpc.AppCallbackStub(served[0])  # type: ignore[no-untyped-call]
    answer = stub.ListInputBindings(empty_pb2.Empty(), metadata=AUTH, timeout=5)
    assert list(answer.bindings) == ["orders", "ticks"]


def test_an_event_reaches_the_handler_with_the_component_metadata(served: tuple[grpc.Channel, Seen]) -> None:
    """The binding name, body and component metadata reach `handle`; the gRPC headers do not."""
    channel, seen = served
    _event(channel, "orders", b'{"id": 1}')
    assert seen == [("orders", b'{"id": 1}', {"dequeueCount": "2"})]


def test_redelivery_and_unknown_bindings_are_errors_daprd_sees(served: tuple[grpc.Channel, Seen]) -> None:
    """RedeliverError answers UNAVAILABLE (message stays queued); an unknown binding UNIMPLEMENTED."""
    channel, seen = served
    with pytest.raises(grpc.RpcError) as redeliver:
        _event(channel, "orders", b"fail")
    assert redeliver.value.code() is grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.RpcError) as unknown:
        _event(channel, "refunds", b"{}")
    assert unknown.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert seen == []


def _topic_event(channel: grpc.Channel, topic: str, data: bytes) -> int:
    stub = appcallback_pb2_grpc.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
    request = appcallback_pb2.TopicEventRequest(id="ev-1", pubsub_name="bus", topic=topic, data=data)
    answer = stub.OnTopicEvent(request, metadata=AUTH, timeout=5)
    return int(answer.status)


def test_lists_the_topics_with_their_dead_letter_topics(served: tuple[grpc.Channel, Seen]) -> None:
    """ListTopicSubscriptions answers each subscription, even without the token (daprd sends none)."""
    stub = appcallback_pb2_grpc.AppCallbackStub(served[0])  # type: ignore[no-untyped-call]
    answer = stub.ListTopicSubscriptions(empty_pb2.Empty(), timeout=5)
    assert [(s.pubsub_name, s.topic, s.dead_letter_topic) for s in answer.subscriptions] == [
        ("bus", "paid", "paid-dead"),
        ("bus", "bulk", "bulk-dead"),
    ]


def test_a_bulk_subscription_is_declared_with_its_bounds(served: tuple[grpc.Channel, Seen]) -> None:
    """`bulk_subscribe` is enabled with the subscription's bounds; a subscription without one has none."""
    stub = appcallback_pb2_grpc.AppCallbackStub(served[0])  # type: ignore[no-untyped-call]
    paid, bulk = stub.ListTopicSubscriptions(empty_pb2.Empty(), timeout=5).subscriptions
    assert not paid.HasField("bulk_subscribe")
    config = bulk.bulk_subscribe
    assert (config.enabled, config.max_messages_count, config.max_await_duration_ms) == (True, 50, 200)


def test_a_topic_event_is_answered_with_the_handler_s_status(served: tuple[grpc.Channel, Seen]) -> None:
    """SUCCESS, RETRY and DROP reach daprd as its own statuses; an unknown topic is dropped unhandled."""
    channel, seen = served
    statuses = [_topic_event(channel, "paid", data) for data in (b"{}", b"retry", b"drop")]
    answer = appcallback_pb2.TopicEventResponse
    assert statuses == [answer.SUCCESS, answer.RETRY, answer.DROP]
    assert seen == [("bus/paid", data, {"id": "ev-1"}) for data in (b"{}", b"retry", b"drop")]
    assert _topic_event(channel, "refunds", b"{}") == answer.DROP
    assert len(seen) == 3


def test_every_callback_checks_the_token(served: tuple[grpc.Channel, Seen]) -> None:
    """Events and health checks without the app token are refused before any handler runs."""
    channel, seen = served
    with pytest.raises(grpc.RpcError) as refused:
        _event(channel, "orders", b"{}", metadata=())
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    health = appcallback_pb2_grpc.AppCallbackHealthCheckStub(channel)  # type: ignore[no-untyped-call]
    with pytest.raises(grpc.RpcError):
        health.HealthCheck(empty_pb2.Empty(), timeout=5)
    assert isinstance(
        health.HealthCheck(empty_pb2.Empty(), metadata=AUTH, timeout=5), appcallback_pb2.HealthCheckResponse
    )
    assert seen == []


def test_serving_does_not_load_the_dapr_client_package() -> None:
    """The server module loads the generated stubs only: not dapr.clients, aiohttp or dapr.ext.grpc."""
    code = "import sys, bindings.server; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project_root(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = set(done.stdout.split())
    assert "dapr.proto.runtime.v1.appcallback_pb2_grpc" in loaded
    assert sorted(loaded & {"dapr.clients", "aiohttp", "dapr.ext.grpc"}) == []


def test_unimplemented_callbacks_and_the_listing_check_the_token_too(
    served: tuple[grpc.Channel, Seen], caplog: pytest.LogCaptureFixture
) -> None:
    """Without the token every method is refused and logged, even ones the app leaves UNIMPLEMENTED."""
    stub = appcallback_pb2_grpc.AppCallbackStub(served[0])  # type: ignore[no-untyped-call]
    for metadata, code in (((), grpc.StatusCode.PERMISSION_DENIED), (AUTH, grpc.StatusCode.UNIMPLEMENTED)):
        with pytest.raises(grpc.RpcError) as caught:
            stub.OnJobEvent(appcallback_pb2.JobEventRequest(), metadata=metadata, timeout=5)
        assert caught.value.code() is code
    with pytest.raises(grpc.RpcError) as listing:
        stub.ListInputBindings(empty_pb2.Empty(), timeout=5)
    assert listing.value.code() is grpc.StatusCode.PERMISSION_DENIED
    refusals = [record.getMessage() for record in caplog.records if record.name == "bindings.guard"]
    assert refusals == [
        "refused /dapr.proto.runtime.v1.AppCallback/OnJobEvent: missing or wrong dapr-api-token",
        "refused /dapr.proto.runtime.v1.AppCallback/ListInputBindings: missing or wrong dapr-api-token",
    ]


def _batch(topic: str) -> appcallback_pb2.TopicEventBulkRequest:
    """Three CloudEvent entries (handled, retried, dropped) and one raw-bytes entry."""

    def cloud_event(entry_id: str, event_id: str, data: bytes) -> appcallback_pb2.TopicEventBulkRequestEntry:
        event = appcallback_pb2.TopicEventCERequest(
            id=event_id, data=data, data_content_type="application/json"
        )
        return appcallback_pb2.TopicEventBulkRequestEntry(entry_id=entry_id, cloud_event=event)

    entries = [
        cloud_event("e1", "ce-1", b"{}"),
        cloud_event("e2", "ce-2", b"retry"),
        cloud_event("e3", "ce-3", b"drop"),
        appcallback_pb2.TopicEventBulkRequestEntry(entry_id="e4", bytes=b"raw", content_type="text/plain"),
    ]
    return appcallback_pb2.TopicEventBulkRequest(
        id="batch-1", pubsub_name="bus", topic=topic, entries=entries
    )


def _statuses(answer: appcallback_pb2.TopicEventBulkResponse) -> list[tuple[str, int]]:
    return [(status.entry_id, int(status.status)) for status in answer.statuses]


def test_a_batch_is_answered_per_entry_under_both_names_daprd_calls(
    served: tuple[grpc.Channel, Seen],
) -> None:
    """OnBulkTopicEvent (1.18) and OnBulkTopicEventAlpha1 (1.16): a status per entry id, each one handled.

    A dead-lettered entry (DROP) is answered SUCCESS: daprd's DROP of a batch entry forwards the wrong event.
    """
    channel, seen = served
    stub = appcallback_pb2_grpc.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
    alpha = appcallback_pb2_grpc.AppCallbackAlphaStub(channel)  # type: ignore[no-untyped-call]
    answer = appcallback_pb2.TopicEventResponse
    expected = [("e1", answer.SUCCESS), ("e2", answer.RETRY), ("e3", answer.SUCCESS), ("e4", answer.SUCCESS)]
    assert _statuses(stub.OnBulkTopicEvent(_batch("bulk"), metadata=AUTH, timeout=5)) == expected
    assert _statuses(alpha.OnBulkTopicEventAlpha1(_batch("bulk"), metadata=AUTH, timeout=5)) == expected
    handled = [
        ("bus/bulk", b"{}", {"id": "e1:ce-1"}),
        ("bus/bulk", b"retry", {"id": "e2:ce-2"}),
        ("bus/bulk", b"drop", {"id": "e3:ce-3"}),
        ("bus/bulk", b"raw", {"id": "e4:e4"}),  # raw bytes: counted by entry id
    ]
    assert seen == handled * 2


def test_a_batch_for_an_unknown_topic_is_left_to_daprd_unhandled(served: tuple[grpc.Channel, Seen]) -> None:
    """Every entry RETRY, no handler runs: once retries run out, daprd forwards them to the dead letters."""
    channel, seen = served
    stub = appcallback_pb2_grpc.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
    answer = stub.OnBulkTopicEvent(_batch("refunds"), metadata=AUTH, timeout=5)
    retry = appcallback_pb2.TopicEventResponse.RETRY
    assert _statuses(answer) == [("e1", retry), ("e2", retry), ("e3", retry), ("e4", retry)]
    assert seen == []


def test_both_batch_methods_check_the_token(
    served: tuple[grpc.Channel, Seen], caplog: pytest.LogCaptureFixture
) -> None:
    """A batch without the app token is refused (daprd retries it) and logged, under either name."""
    channel, seen = served
    stub = appcallback_pb2_grpc.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
    alpha = appcallback_pb2_grpc.AppCallbackAlphaStub(channel)  # type: ignore[no-untyped-call]
    for call in (stub.OnBulkTopicEvent, alpha.OnBulkTopicEventAlpha1):
        with pytest.raises(grpc.RpcError) as refused:
            call(_batch("bulk"), metadata=(("dapr-api-token", "wrong"),), timeout=5)
        assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert seen == []
    refused_methods = ["AppCallback/OnBulkTopicEvent", "AppCallbackAlpha/OnBulkTopicEventAlpha1"]
    assert [record.getMessage() for record in caplog.records if record.name == "bindings.guard"] == [
        f"refused /dapr.proto.runtime.v1.{method}: missing or wrong dapr-api-token"
        for method in refused_methods
    ]
