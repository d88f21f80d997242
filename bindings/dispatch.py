"""The event path of one binding event: parse, filter, handle, then acknowledge, retry or dead-letter."""

from __future__ import annotations

import contextvars
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bindings import logs
from bindings.errors import RedeliverError
from bindings.messages import DEAD_LETTER_TOPIC, DeadLetter, DeadLetterEvent, dead_letter_id
from bindings.poison import Failure, Verdict, classify, decide, dequeue_count

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from bindings.ports import BlobStore, Publisher

_log = logging.getLogger("bindings.app")
_REASON_LIMIT = 4000


class Outcome(Enum):
    """How an event left the event path when it may be acknowledged."""

    HANDLED = "handled"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead-lettered"


@dataclass(frozen=True, slots=True)
class CronTick:
    """One firing of a cron binding, as this replica saw it."""

    binding: str
    fired_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """The message being handled: its binding, its attempt (`dequeueCount`) and its queue id."""

    binding: str
    attempt: int
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Route:
    """A registered trigger: how to parse its payload, which payloads to take, who handles them."""

    binding: str
    handler: Callable[[Any], None]
    parse: Callable[[bytes], Any] | None  # None: a cron route
    accept: Callable[[Any], bool]
    max_attempts: int


_delivery: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("bindery_delivery", default=None)


def current_delivery() -> Delivery | None:
    """The delivery a queue handler is running for; None outside one (in cron handlers, in tests)."""
    return _delivery.get()


class Dispatcher:
    """Runs events through their routes; counts cron failures; writes dead letters to a `BlobStore`.

    With a `Publisher`, each dead letter written is also announced (`DeadLetterEvent` on
    `DEAD_LETTER_TOPIC`); a message whose record or event could not be written stays for redelivery.
    """

    def __init__(
        self, app: str, dead_letters: Callable[[], BlobStore], events: Publisher | None = None
    ) -> None:
        self.app = app
        self.cron_failures: Counter[str] = Counter()
        self._dead_letters = dead_letters
        self._events = events

    def dispatch(self, route: Route, data: bytes, binding_metadata: Mapping[str, str]) -> Outcome:
        """Handle one event; return how, to acknowledge it; raise `RedeliverError` to leave it queued."""
        if route.parse is None:
            self._tick(route, binding_metadata)
            return Outcome.HANDLED
        began = time.monotonic()
        attempt = dequeue_count(binding_metadata)
        message_id = binding_metadata.get("messageID")
        with logs.log_context(binding=route.binding, message_id=message_id):
            try:
                payload = route.parse(data)
            except ValueError as error:  # pydantic's ValidationError and PayloadError are ValueErrors
                self._dead_letter(
                    route, data, message_id, attempt=attempt, failure=Failure.INVALID, error=error
                )
                return Outcome.DEAD_LETTERED
            if not route.accept(payload):
                _log.info(
                    "ignored: %s does not match this trigger",
                    getattr(payload, "path", type(payload).__name__),
                )
                return Outcome.IGNORED
            token = _delivery.set(Delivery(route.binding, attempt, message_id))
            try:
                with logs.log_context(correlation_id=_correlation_id(payload)):
                    route.handler(payload)
            except Exception as error:
                failure = classify(error)
                if decide(failure, attempt, route.max_attempts) is Verdict.RETRY:
                    took = round(time.monotonic() - began, 3)
                    _log.warning(
                        "attempt %d of %d failed, left for redelivery: %s",
                        attempt, route.max_attempts, error, extra={"seconds": took},
                    )  # fmt: skip
                    raise RedeliverError(f"attempt {attempt} failed: {error}") from error
                self._dead_letter(route, data, message_id, attempt=attempt, failure=failure, error=error)
                return Outcome.DEAD_LETTERED
            finally:
                _delivery.reset(token)
            took = round(time.monotonic() - began, 3)  # the attempt began `seconds` before its line
            logs.log(
                _log, logging.INFO, "handled", {"attempt": attempt, "seconds": took}
            )  # `_log.info`'s, cheaper
            return Outcome.HANDLED

    def _tick(self, route: Route, binding_metadata: Mapping[str, str]) -> None:
        tick = CronTick(binding=route.binding, fired_at=datetime.now(UTC))
        with logs.log_context(binding=route.binding, tick=tick.fired_at.isoformat()):
            try:
                route.handler(tick)
            except Exception:  # noqa: BLE001 - a cron error never escapes: daprd would drop it unseen
                self.cron_failures[route.binding] += 1
                _log.exception(
                    "cron handler failed (the tick is not retried)",
                    extra={
                        "cron_failures_total": self.cron_failures[route.binding],
                        "metadata": dict(binding_metadata),
                    },
                )
                return
            logs.log(_log, logging.INFO, "tick handled", {})

    def _dead_letter(
        self,
        route: Route,
        data: bytes,
        message_id: str | None,
        *,
        attempt: int,
        failure: Failure,
        error: BaseException,
    ) -> None:
        kind = "exhausted" if failure is Failure.TRANSIENT else failure.value
        record = DeadLetter(
            id=dead_letter_id(self.app, route.binding, message_id),
            app=self.app,
            source=route.binding,
            reason=f"{type(error).__name__}: {error}"[:_REASON_LIMIT],
            kind=kind,
            dequeue_count=attempt,
            message_id=message_id,
            dead_lettered_at=datetime.now(UTC),
            body_b64=DeadLetter.encode_body(data),
        )
        try:
            self._dead_letters().put(
                record.blob_name(), record.model_dump_json().encode(), content_type="application/json"
            )
        except Exception as sink_error:
            _log.exception("could not dead-letter; leaving the message for redelivery")
            raise RedeliverError(f"dead-lettering failed: {sink_error}") from sink_error
        _log.error("dead-lettered (%s): %s", kind, record.reason, extra={"dead_letter": record.blob_name()})
        if self._events is not None:
            self._announce(self._events, record)

    def _announce(self, events: Publisher, record: DeadLetter) -> None:
        """Publish the record's event; on failure the message is redelivered, and written again as itself."""
        try:
            event = DeadLetterEvent.of(record)
        except ValueError:  # no retry would change it: the record stands alone, the message is acknowledged
            _log.exception("dead-lettered, but its event cannot be built: not announced")
            return
        try:
            events.publish(DEAD_LETTER_TOPIC, event, event_id=record.id)
        except Exception as publish_error:
            _log.exception("dead-lettered, but not announced; leaving the message for redelivery")
            raise RedeliverError(f"publishing the dead letter failed: {publish_error}") from publish_error


def _correlation_id(payload: object) -> str | None:
    value = _attribute(payload, "correlation_id") or _attribute(payload, "id")
    return str(value) if value is not None else None


_absent: dict[tuple[type, str], bool] = {}  # (payload class, attribute) -> a model without it


def _attribute(payload: object, name: str) -> Any:  # noqa: ANN401
    """`getattr(payload, name, None)`; a model without that field skips pydantic's AttributeError (costly)."""
    key = (payload.__class__, name)
    absent = _absent.get(key)
    if absent is None:
        kind = payload.__class__
        absent = _absent[key] = (
            issubclass(kind, BaseModel)
            and kind.model_config.get("extra") != "allow"  # extra fields are attributes of the instance
            and name not in kind.model_fields
            and not hasattr(kind, name)  # a property, a method…
            and not name.startswith("_")  # private attributes
        )
    return None if absent else getattr(payload, name, None)
