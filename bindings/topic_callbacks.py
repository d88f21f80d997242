"""The topic side of the app callbacks: the subscriptions daprd is given, and its events answered.

daprd asks once for the subscriptions (ListTopicSubscriptions), then delivers each event alone
(OnTopicEvent) or, for a subscription declared with `BulkDelivery`, in batches. A batch arrives as
`AppCallback.OnBulkTopicEvent` from daprd 1.18, which falls back to
`AppCallbackAlpha.OnBulkTopicEventAlpha1` when that answers UNIMPLEMENTED, and as
`OnBulkTopicEventAlpha1` alone from daprd 1.16 (both in `pkg/runtime/subscription/postman/grpc`):
both are answered, the same way. Neither may be left unanswered: daprd takes an UNIMPLEMENTED batch
as dropped, every entry of it, without forwarding any to the dead-letter topic.

In a batch, an event the app dead-lettered is answered SUCCESS, not DROP. daprd (1.16.0 to 1.18.3,
`DeliverBulk`) finds a DROPped entry's event to forward by its index in the whole batch, but looks it
up in the entries of the current attempt, which its retry policy has narrowed to those answered
RETRY: the event exhausted on its third attempt crashed daprd 1.18.2 and 1.16.5 (index out of
range), and a smaller index forwards another event. Our dead-letter record (and its
`DeadLetterEvent`) holds the event; the dead-letter topic gets from a bulk subscription only what
daprd itself gives up on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc

from bindings.topics import TopicEntry, TopicStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bindings.topics import Subscription

_log = logging.getLogger("bindings.app")
_Response = appcallback_pb2.TopicEventResponse
STATUS = {status: _Response.TopicEventResponseStatus.Value(status.name) for status in TopicStatus}
BATCH_STATUS = {**STATUS, TopicStatus.DROP: _Response.SUCCESS}  # see above: dead-lettered, acknowledged


class TopicCallbacks:
    """An app's subscriptions, as daprd lists them, and the answer to each event or batch daprd sends."""

    def __init__(
        self,
        subscriptions: Sequence[Subscription],
        handle: Callable[[str, str, str, bytes], TopicStatus] | None,
        handle_batch: Callable[[str, str, Sequence[TopicEntry]], list[TopicStatus]] | None,
    ) -> None:
        self._topics = {(s.pubsub, s.topic): s for s in subscriptions}
        self._handle = handle
        self._handle_batch = handle_batch

    def listing(self) -> Any:  # noqa: ANN401 - a generated message
        """Each subscription with its dead-letter topic and, when it has one, its bulk delivery."""
        subscriptions = [_subscription(s) for s in self._topics.values()]
        return appcallback_pb2.ListTopicSubscriptionsResponse(subscriptions=subscriptions)

    def event(self, request: Any) -> Any:  # noqa: ANN401
        """One event: SUCCESS (handled), RETRY (redeliver) or DROP (dead-lettered; daprd forwards it)."""
        if self._handle is None or not self._subscribed(request.pubsub_name, request.topic):
            return _Response(status=_Response.DROP)
        status = self._handle(request.pubsub_name, request.topic, request.id, request.data)
        return _Response(status=STATUS[status])

    def batch(self, request: Any) -> Any:  # noqa: ANN401
        """A batch: each entry handled as one event would be, and answered by its entry id.

        A batch on a topic the app does not subscribe to is answered RETRY throughout: once daprd's
        retries run out it forwards the entries to the dead-letter topic itself (by the right index).
        """
        entries = [_entry(item) for item in request.entries]
        if self._handle_batch is None or not self._subscribed(request.pubsub_name, request.topic):
            statuses = [TopicStatus.RETRY] * len(entries)
        else:
            statuses = self._handle_batch(request.pubsub_name, request.topic, entries)
        return appcallback_pb2.TopicEventBulkResponse(
            statuses=[
                appcallback_pb2.TopicEventBulkResponseEntry(
                    entry_id=entry.entry_id, status=BATCH_STATUS[status]
                )
                for entry, status in zip(entries, statuses, strict=True)
            ]
        )

    def _subscribed(self, pubsub: str, topic: str) -> bool:
        if (pubsub, topic) in self._topics:
            return True
        _log.error("event on %s/%s, which this app does not subscribe to", pubsub, topic)
        return False


def _subscription(s: Subscription) -> Any:  # noqa: ANN401 - a TopicSubscription
    bulk = None
    if s.bulk is not None:
        bulk = appcallback_pb2.BulkSubscribeConfig(
            enabled=True, max_messages_count=s.bulk.max_messages, max_await_duration_ms=s.bulk.max_await_ms
        )
    return appcallback_pb2.TopicSubscription(
        pubsub_name=s.pubsub, topic=s.topic, dead_letter_topic=s.dead_letter_topic, bulk_subscribe=bulk
    )


def _entry(item: Any) -> TopicEntry:  # noqa: ANN401 - a TopicEventBulkRequestEntry
    """A CloudEvent entry is counted by its CloudEvent id, as a single event; raw bytes by entry id.

    The entry id is daprd's, stable across the retries of the resiliency policy but new when the
    broker redelivers; only a subscription with `rawPayload` metadata (none of ours) gets raw bytes.
    """
    if item.WhichOneof("event") == "cloud_event":
        return TopicEntry(item.entry_id, item.cloud_event.id or item.entry_id, item.cloud_event.data)
    return TopicEntry(item.entry_id, item.entry_id, item.bytes)


class AlphaCallback(appcallback_pb2_grpc.AppCallbackAlphaServicer):
    """`AppCallbackAlpha`: the name daprd 1.16 delivers batches under (1.18 falls back to it)."""

    def __init__(self, topics: TopicCallbacks) -> None:
        self._topics = topics

    def OnBulkTopicEventAlpha1(self, request: Any, _context: Any) -> Any:  # noqa: N802, ANN401 - gRPC name
        """The same answer as `AppCallback.OnBulkTopicEvent`."""
        return self._topics.batch(request)
