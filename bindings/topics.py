"""Topic triggers: what an app subscribes to, and the answer daprd gets for each event.

An event is handed to the same event path as a queue message (`Dispatcher`): parsed into its model,
handled, retried while it fails transiently, dead-lettered with the reason when it is invalid, fails
permanently or runs out of attempts. daprd then hears SUCCESS (handled or ignored), RETRY (left for
redelivery) or DROP (dead-lettered: our record holds the reason, and daprd forwards the event itself
to the subscription's dead-letter topic). A topic delivery carries no delivery count, so this process
counts the attempts it has seen of each event (by CloudEvent id, bounded): a replica that restarts,
or an event redelivered to another replica, starts counting again — more attempts, never fewer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from bindings.dispatch import Outcome
from bindings.errors import RedeliverError

if TYPE_CHECKING:
    from bindings.dispatch import Dispatcher, Route

_TRACKED = 10_000  # events whose attempts are remembered at once


@dataclass(frozen=True, slots=True)
class Subscription:
    """One topic an app subscribes to, and where daprd forwards what the app drops."""

    pubsub: str
    topic: str
    dead_letter_topic: str

    @property
    def source(self) -> str:
        """The name dead-letter records and log lines give it: `pubsub/topic`."""
        return f"{self.pubsub}/{self.topic}"


class TopicStatus(Enum):
    """What daprd is told about one event."""

    SUCCESS = "success"
    RETRY = "retry"
    DROP = "drop"


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

    def _attempt(self, key: tuple[str, str]) -> int:
        with self._lock:
            attempt = self._attempts.pop(key, 0) + 1
            self._attempts[key] = attempt
            while len(self._attempts) > self._tracked:
                self._attempts.popitem(last=False)
        return attempt
