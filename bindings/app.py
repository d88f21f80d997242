"""FunctionApp: trigger decorators served to the Dapr sidecar, with typed payloads and poison handling.

    app = FunctionApp("receipt-render")

    @app.queue(names.RECEIPT_REQUESTS, model=ReceiptRequested)
    def on_request(request: ReceiptRequested) -> None: ...

    @app.topic("domain-events", "receipts", model=ReceiptRendered)
    def on_rendered(event: ReceiptRendered) -> None: ...

Decorators register and return the function unchanged, so tests call handlers directly;
`FunctionApp.handle` runs the whole event path (parse, filter, handle, dead-letter) without
gRPC, and `run` serves it to the sidecar. `on_start` hooks read the app's settings before the
port opens (`bindings/settings.py`): a bad one stops the app there, with its message.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import TypeAdapter

from bindings import logs
from bindings.dispatch import CronTick, Delivery, Dispatcher, Route, current_delivery
from bindings.errors import SettingsError
from bindings.events import BLOB_CREATED, BlobEvent, parse_blob_event
from bindings.guard import Guard
from bindings.messages import DEAD_LETTERS
from bindings.payload import decode_json
from bindings.poison import DEFAULT_MAX_ATTEMPTS
from bindings.topics import BulkDelivery, Subscription, TopicEntry, Topics, TopicStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from bindings.ports import BlobStore, Publisher
    from bindings.server import ServerSettings

__all__ = [
    "BulkDelivery", "CronTick", "Delivery", "FunctionApp", "Subscription", "TopicEntry", "TopicStatus",
    "current_delivery",
]  # fmt: skip

F = TypeVar("F", bound="Callable[..., None]")
H = TypeVar("H", bound="Callable[[], object]")
_log = logging.getLogger(__name__)


class FunctionApp:
    """One function app: its triggers, and the policy for messages that fail."""

    def __init__(
        self,
        name: str,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        dead_letters: BlobStore | None = None,
        events: Publisher | None = None,
        grace_seconds: float = 20.0,
    ) -> None:
        """`events`: where to announce each dead letter written (`DeadLetterEvent`); none when None."""
        self.name = name
        self._routes: dict[str, Route] = {}
        self._max_attempts = max_attempts
        self._dead_letters = dead_letters
        self._grace_seconds = grace_seconds
        self._dispatcher = Dispatcher(name, self._sink, events)
        self._topics = Topics(self._dispatcher)
        self._on_start: list[Callable[[], object]] = []

    @property
    def bindings(self) -> tuple[str, ...]:
        """The input bindings this app handles."""
        return tuple(self._routes)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The topics this app subscribes to."""
        return self._topics.subscriptions

    @property
    def cron_failures(self) -> Mapping[str, int]:
        """Failed cron ticks so far, by binding."""
        return self._dispatcher.cron_failures

    def cron(self, binding: str) -> Callable[[F], F]:
        """Register a handler of `CronTick` for cron binding `binding`; errors are logged and counted."""
        return self._register(binding, parse=None)

    def queue(self, binding: str, *, model: Any, max_attempts: int | None = None) -> Callable[[F], F]:  # noqa: ANN401
        """Register a handler of `model` (a pydantic model or a union of versions) for a queue binding."""
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        return self._register(
            binding, parse=lambda body: adapter.validate_python(decode_json(body)), max_attempts=max_attempts
        )

    def blob_created(
        self, binding: str, *, prefix: str = "", max_attempts: int | None = None
    ) -> Callable[[F], F]:
        """Register a handler of `BlobEvent` for BlobCreated events whose `container/blob` has `prefix`."""

        def accept(event: BlobEvent) -> bool:
            return event.event_type == BLOB_CREATED and event.path.startswith(prefix)

        return self._register(
            binding,
            parse=lambda body: parse_blob_event(decode_json(body)),
            accept=accept,
            max_attempts=max_attempts,
        )

    def topic(
        self,
        pubsub: str,
        topic: str,
        *,
        model: Any,  # noqa: ANN401 - a pydantic model or a union of versions
        dead_letter_topic: str | None = None,
        max_attempts: int | None = None,
        bulk: BulkDelivery | None = None,
    ) -> Callable[[F], F]:
        """Register a handler of `model` for `topic` of pub/sub `pubsub`; drops go to `{topic}-dead`.

        The handler follows the rules of a queue handler: invalid, permanent or out of attempts, the
        event is dead-lettered with the reason and daprd forwards it to the dead-letter topic. With
        `bulk`, daprd delivers batches; each event still runs alone through the same path.
        """
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        subscription = Subscription(pubsub, topic, dead_letter_topic or f"{topic}-dead", bulk)

        def register(func: F) -> F:
            route = Route(subscription.source, func, adapter.validate_json, lambda _payload: True,
                          max_attempts or self._max_attempts)  # fmt: skip
            self._topics.add(subscription, route)
            return func

        return register

    def on_start(self, hook: H) -> H:
        """Register `hook` to run at start, before the port opens (read settings; `SettingsError` stops)."""
        self._on_start.append(hook)
        return hook

    def start(self, environ: Mapping[str, str]) -> ServerSettings:
        """Configure logging, read the server's settings, run the start hooks; a bad setting exits."""
        from bindings.server import ServerSettings  # noqa: PLC0415 - gRPC serving only when run

        try:
            logs.configure(self.name, environ)
            settings = ServerSettings.from_env(environ)
            for hook in self._on_start:
                hook()
        except SettingsError as error:
            raise SystemExit(f"{self.name}: {error}") from None
        return settings

    def handle(self, binding: str, data: bytes, binding_metadata: Mapping[str, str]) -> None:
        """Run one binding event through parse, filter, handler and poison policy.

        Returns when the message may be acknowledged (handled, ignored or dead-lettered);
        raises `RedeliverError` when it must stay on the queue for another attempt.
        """
        self._dispatcher.dispatch(self._routes[binding], data, binding_metadata)

    def handle_topic(self, pubsub: str, topic: str, event_id: str, data: bytes) -> TopicStatus:
        """Run one topic event (CloudEvent `event_id`, its `data`); what daprd should do with it."""
        return self._topics.handle(pubsub, topic, event_id, data)

    def handle_topic_batch(self, pubsub: str, topic: str, entries: Sequence[TopicEntry]) -> list[TopicStatus]:
        """Run a batch of topic events, each as `handle_topic` does; an answer per entry, in order."""
        return self._topics.handle_batch(pubsub, topic, entries)

    def run(self, port: int | None = None, *, serving: Callable[[], object] | None = None) -> None:
        """Serve the app to its sidecar until SIGTERM or SIGINT, then drain within the grace period.

        `serving` is called once the server has started (for work that should not delay start-up).
        """
        from bindings import server as callbacks  # noqa: PLC0415 - gRPC serving only when run

        settings = self.start(os.environ)
        guard = Guard(settings.token)
        if settings.token is None:
            _log.warning("APP_API_TOKEN is not set: calls are accepted without a dapr-api-token")
        grpc_server = callbacks.build(
            callbacks.Callbacks(
                self.bindings, self.handle, self.subscriptions, self.handle_topic, self.handle_topic_batch
            ),
            guard=guard,
            workers=settings.workers,
        )

        served = [*self._routes, *(subscription.source for subscription in self.subscriptions)]
        _log.info(
            "serving %s on %s:%d", ", ".join(served) or "no bindings", settings.host, port or settings.port
        )
        callbacks.serve(
            grpc_server,
            guard,
            f"{settings.host}:{port or settings.port}",
            grace_seconds=self._grace_seconds,
            serving=serving,
        )

    def _register(
        self,
        binding: str,
        *,
        parse: Callable[[bytes], Any] | None,
        accept: Callable[[Any], bool] = lambda _payload: True,
        max_attempts: int | None = None,
    ) -> Callable[[F], F]:
        if binding in self._routes:
            raise ValueError(f"{self.name}: binding {binding!r} already has a handler")

        def register(func: F) -> F:
            self._routes[binding] = Route(binding, func, parse, accept, max_attempts or self._max_attempts)
            return func

        return register

    def _sink(self) -> BlobStore:
        if self._dead_letters is None:
            from bindings.dapr_ports import DaprBlobStore  # noqa: PLC0415 - created on first dead letter

            self._dead_letters = DaprBlobStore(DEAD_LETTERS)
        return self._dead_letters
