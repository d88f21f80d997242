"""Topic triggers: what an app subscribes to, and the answer daprd gets for each event.

An event is handed to the same event path as a queue message (`Dispatcher`): parsed into its model,
handled, retried while it fails transiently, dead-lettered with the reason when it is invalid, fails
permanently or runs out of attempts. daprd then hears SUCCESS (handled or ignored), RETRY (left for
redelivery) or DROP (dead-lettered: our record holds the reason, and daprd forwards the event itself
to the subscription's dead-letter topic). A topic delivery carries no delivery count, so this process
counts the attempts it has seen of each event (by CloudEvent id, bounded): a replica that restarts,
or an event redelivered to another replica, starts counting again — more attempts, never fewer.

A subscription declared with `BulkDelivery` gets its events in batches (`handle_batch`): each entry
runs through `handle` in turn, in the calling thread, and gets its own answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bindings import logs
from bindings.dispatch import Outcome
from bindings.errors import RedeliverError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bindings.dispatch import Dispatcher, Route

_TRACKED = 10_000  # events whose attempts are remembered at once
_log = logging.getLogger("bindings.app")


@dataclass(frozen=True, slots=True)
class BulkDelivery:
    """Events in batches: daprd sends up to `max_messages` at once, waiting up to `max_await_ms` to fill one.

    A component without bulk subscribe of its own (pubsub.redis) gets daprd's default batcher, which
    gathers only the events the component hands over at once: at most its `concurrency`. A batch
    smaller than `max_messages` waits the whole `max_await_ms` (architecture.md, *Bulk delivery*).
    """

    max_messages: int = 100
    max_await_ms: int = 1000

    def __post_init__(self) -> None:
        """Refuse a bound daprd would replace by its default (0) or cannot carry (beyond int32)."""
        for name, value in (("max_messages", self.max_messages), ("max_await_ms", self.max_await_ms)):
            if not 1 <= value < 2**31:
                raise ValueError(f"BulkDelivery.{name} must be from 1 to 2**31 - 1, not {value!r}")


@dataclass(frozen=True, slots=True)
class Subscription:
    """One topic an app subscribes to, and where daprd forwards what the app drops."""

    pubsub: str
    topic: str
    dead_letter_topic: str
    bulk: BulkDelivery | None = None  # None: one event a call

    @property
    def source(self) -> str:
        """The name dead-letter records and log lines give it: `pubsub/topic`."""
        return f"{self.pubsub}/{self.topic}"


class TopicStatus(Enum):
    """What daprd is told about one event."""

    SUCCESS = "success"
    RETRY = "retry"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class TopicEntry:
    """One event of a batch: daprd's entry id (its answer names it), the event's id and its data."""

    entry_id: str
    event_id: str
    data: bytes


class Topics:
    """An app's subscriptions and their routes; runs each event and says what daprd should do."""

    def __init__(self, dispatcher: Dispatcher, *, tracked: int = _TRACKED) -> None:
        self._dispatcher = dispatcher
        self._routes: dict[tuple[str, str], tuple[Subscription, Route]] = {}
        self._attempts: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._tracked = tracked
        self._lock = threading.Lock()

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Every subscription, in registration order."""
        return tuple(subscription for subscription, _ in self._routes.values())

    def add(self, subscription: Subscription, route: Route) -> None:
        """Route `subscription`'s events to `route`; one handler a topic."""
        key = (subscription.pubsub, subscription.topic)
        if key in self._routes:
            raise ValueError(f"topic {subscription.source!r} already has a handler")
        self._routes[key] = (subscription, route)

    def handle(self, pubsub: str, topic: str, event_id: str, data: bytes) -> TopicStatus:
        """Run one event through its route; the answer for daprd."""
        _, route = self._routes[(pubsub, topic)]
        key = (route.binding, event_id)
        metadata = {"dequeueCount": str(self._attempt(key)), "messageID": event_id}
        try:
            outcome = self._dispatcher.dispatch(route, data, metadata)
        except RedeliverError:
            return TopicStatus.RETRY
        with self._lock:
            self._attempts.pop(key, None)
        return TopicStatus.DROP if outcome is Outcome.DEAD_LETTERED else TopicStatus.SUCCESS

    def handle_batch(self, pubsub: str, topic: str, entries: Sequence[TopicEntry]) -> list[TopicStatus]:
        """Run each entry through `handle`, in order, in this thread; the answers, in the entries' order.

        An entry that raises all the same (a fault of the event path itself, not of the handler, whose
        errors `handle` answers) is logged and answered RETRY; the entries after it still run.
        """
        subscription, _ = self._routes[(pubsub, topic)]
        began = time.monotonic()
        statuses = []
        for entry in entries:
            try:
                status = self.handle(pubsub, topic, entry.event_id, entry.data)
            except Exception:  # noqa: BLE001 - every entry gets an answer; this one is retried
                with logs.log_context(binding=subscription.source, message_id=entry.event_id):
                    _log.exception("event of a batch failed outside its handler: answered RETRY")
                status = TopicStatus.RETRY
            statuses.append(status)
        counts = Counter(statuses)
        tally = {status.value: counts[status] for status in TopicStatus}  # success, retry, drop
        took = round(time.monotonic() - began, 3)
        with logs.log_context(binding=subscription.source):
            _log.info(
                "batch of %d: %d success, %d retry, %d drop", len(entries), *tally.values(),
                extra={"batch": len(entries), **tally, "seconds": took},
            )  # fmt: skip
        return statuses

    def _attempt(self, key: tuple[str, str]) -> int:
        with self._lock:
            attempt = self._attempts.pop(key, 0) + 1
            self._attempts[key] = attempt
            while len(self._attempts) > self._tracked:
                self._attempts.popitem(last=False)
        return attempt
