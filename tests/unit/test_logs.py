"""Structured logs: one JSON object a line, with the context of the event being handled, written per call."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bindings import log_format, logs
from bindings.app import FunctionApp
from bindings.log_format import JsonFormatter, log_context
from bindings.messages import Message

if TYPE_CHECKING:
    from collections.abc import Iterator

_FIELDS = ("time", "level", "app", "logger", "message")


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put back the root logger and the record switches that `logs.configure` sets."""
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def pipe() -> Iterator[tuple[int, Any]]:
    """(read end, write end as a text stream) of a pipe; the read end does not block."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    stream = os.fdopen(write, "w", encoding="utf-8")
    yield read, stream
    stream.close()
    os.close(read)


def pending(read: int) -> list[dict[str, Any]]:
    """The lines waiting in the pipe now, parsed (each must be whole JSON)."""
    try:
        data = os.read(read, 1 << 20)
    except BlockingIOError:
        return []
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().splitlines()]


def test_records_carry_the_app_the_context_and_extra_fields() -> None:
    """app, binding, message id and extra fields land in the JSON; None context values are left out."""
    record = logging.LogRecord("bindings.app", logging.INFO, __file__, 1, "handled %s", ("x",), None)
    record.attempt = 2
    with log_context(binding="orders", message_id="m-1", correlation_id=None):
        line = JsonFormatter("receipt-render").format(record)
    entry = json.loads(line)
    assert entry["app"] == "receipt-render"
    assert entry["message"] == "handled x"
    assert (entry["binding"], entry["message_id"], entry["attempt"]) == ("orders", "m-1", 2)
    assert "correlation_id" not in entry


def test_context_ends_with_its_block() -> None:
    """Fields added by a block are gone after it; an inner block adds to the outer one's."""
    with log_context(binding="orders"):
        with log_context(message_id="m-1"):
            record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
            inner = json.loads(JsonFormatter("a").format(record))
        assert (inner["binding"], inner["message_id"]) == ("orders", "m-1")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    assert "binding" not in json.loads(JsonFormatter("a").format(record))


@given(
    st.floats(min_value=0, max_value=4e9, allow_nan=False)
    | st.integers(0, 4 * 10**15).map(lambda us: us / 1e6)
)
@settings(deadline=None)  # a loaded machine must not fail it
@example(1_765_000_000.9999996)  # rounds up into the next second
@example(1_765_000_000.1229996)  # rounds up into the next millisecond
def test_the_time_field_has_the_digits_datetime_gives(created: float) -> None:
    """The time is `fromtimestamp(created, UTC).isoformat(milliseconds)` to the digit, rounding edges too."""
    formatter = JsonFormatter("a")
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert formatter.timestamp(created) == expected
    assert formatter.timestamp(created) == expected  # from the cached second


_KEYS = (
    st.sampled_from(["binding", "attempt", "app", "message", "time", "level", "logger", "exception"])
    | st.text()
)
_VALUES = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.datetimes()
    | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=2), st.text(), max_size=2)
)  # fmt: skip


@settings(deadline=None)
@given(
    message=st.text(),
    context=st.dictionaries(_KEYS, st.text(), max_size=3),
    extra=st.dictionaries(_KEYS.filter(lambda key: key not in log_format.RESERVED), _VALUES, max_size=3),
)
def test_a_line_is_json_dumps_of_its_fields(
    message: str, context: dict[str, str], extra: dict[str, Any]
) -> None:
    """Any message, context and extra: `json.dumps` of the fields in order, later keys replacing earlier."""
    record = logging.LogRecord("bindings.app", logging.WARNING, __file__, 1, "%s", (message,), None)
    record.__dict__.update(extra)  # as `Logger.makeRecord` adds `extra`
    with log_context(**context):
        line = JsonFormatter("app-é").format(record)
    time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
    head = {"time": time, "level": "warning", "app": "app-é", "logger": "bindings.app", "message": message}
    assert line == json.dumps({**head, **context, **extra}, default=str, ensure_ascii=False)


def test_each_call_writes_its_whole_line_before_returning(pipe: tuple[int, Any]) -> None:
    """Every record is in the pipe, one line with every field, when the logging call returns."""
    read, stream = pipe
    logs.configure("orders-app", {"BINDERY_LOG_LEVEL": "INFO"}, stream=stream)
    log = logging.getLogger("bindings.app")
    for attempt in (1, 2):
        with log_context(binding="orders", message_id=f"m-{attempt}"):
            log.info("handled", extra={"attempt": attempt})
        [entry] = pending(read)
        assert list(entry) == [*_FIELDS, "binding", "message_id", "attempt"]
        assert (entry["level"], entry["app"], entry["logger"], entry["message"]) == (
            "info", "orders-app", "bindings.app", "handled"
        )  # fmt: skip
        assert (entry["binding"], entry["message_id"], entry["attempt"]) == (
            "orders",
            f"m-{attempt}",
            attempt,
        )
        assert abs(datetime.fromisoformat(entry["time"]) - datetime.now(UTC)).total_seconds() < 60
    log.debug("below the level")
    assert pending(read) == []


def test_exceptions_unicode_and_odd_extras_are_written(pipe: tuple[int, Any]) -> None:
    """A traceback goes in `exception`, text stays UTF-8 unescaped, values JSON lacks are their str."""
    read, stream = pipe
    logs.configure("a", {}, stream=stream)
    try:
        _ = dict[str, int]()["gone"]
    except KeyError:
        logging.getLogger("x").exception(
            "Zahlung für %s", "Jürgen", extra={"when": datetime(2026, 1, 2, tzinfo=UTC)}
        )
    [entry] = pending(read)
    assert entry["message"] == "Zahlung für Jürgen"
    assert entry["when"] == "2026-01-02 00:00:00+00:00"
    assert entry["level"] == "error"
    assert "KeyError: 'gone'" in entry["exception"]


def test_a_stream_without_a_descriptor_gets_the_line_flushed() -> None:
    """A stream without a file descriptor (pytest's capture, a StringIO) gets each line flushed."""

    class Counting(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            self.flushes += 1

    stream = Counting()
    logs.configure("a", {}, stream=stream)
    logging.getLogger("x").warning("careful")
    assert json.loads(stream.getvalue())["message"] == "careful"
    assert stream.flushes == 1


def test_lines_from_threads_stay_whole() -> None:
    """Lines written at once from several threads into a pipe, each past its atomic size, never mix."""
    read, write = os.pipe()
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read, 1000):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write, "w") as stream:
        logs.configure("a", {}, stream=stream)

        def log(n: int) -> None:
            for i in range(50):
                logging.getLogger("x").info("%s", str(n) * 20_000, extra={"i": i})

        threads = [threading.Thread(target=log, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    reader.join()
    os.close(read)
    lines = [json.loads(line) for line in received.decode().splitlines()]
    assert len(lines) == 200
    assert all(len(set(line["message"])) == 1 for line in lines)


class Event(Message):
    """A queue event for the app below."""

    version: Literal[1] = 1
    id: str


def test_a_handled_event_has_its_line_written_when_handle_returns(pipe: tuple[int, Any]) -> None:
    """`FunctionApp.handle` returns with the event's `handled` line in the pipe, with its binding and id."""
    read, stream = pipe
    logs.configure("orders-app", {}, stream=stream)
    app = FunctionApp("orders-app")
    app.queue("orders", model=Event)(lambda _event: None)
    for n in (1, 2):
        app.handle(
            "orders",
            json.dumps({"version": 1, "id": f"e{n}"}).encode(),
            {"messageID": f"m-{n}", "dequeueCount": "1"},
        )
        [entry] = pending(read)
        assert entry["message"] == "handled"
        assert (entry["app"], entry["binding"], entry["message_id"], entry["attempt"]) == (
            "orders-app", "orders", f"m-{n}", 1
        )  # fmt: skip


@settings(deadline=None)
@given(
    message=st.text(),
    context=st.dictionaries(_KEYS, st.text(), max_size=3),
    extra=st.dictionaries(_KEYS.filter(lambda key: key not in log_format.RESERVED), _VALUES, max_size=3),
)
def test_log_writes_the_line_logger_log_writes(
    message: str, context: dict[str, str], extra: dict[str, Any]
) -> None:
    """`logs.log`, making no `LogRecord`, writes `Logger.log`'s line: the same fields, in order."""
    stream = io.StringIO()
    logs.configure("app-é", {}, stream=stream)
    logger = logging.getLogger("bindings.app")
    with log_context(**context):
        logger.log(logging.WARNING, "%s", message, extra=extra)
        logs.log(logger, logging.WARNING, message, extra)
    slow, fast = (json.loads(line) for line in stream.getvalue().removesuffix("\n").split("\n"))
    assert list(fast) == list(slow)
    assert {**fast, "time": slow["time"]} == slow


def test_log_makes_a_record_for_other_handlers_and_keeps_the_level(caplog: pytest.LogCaptureFixture) -> None:
    """With another handler (here pytest's) records are made as by `Logger.log`; below the level, nothing."""
    stream = io.StringIO()
    logs.configure("a", {"BINDERY_LOG_LEVEL": "WARNING"}, stream=stream)
    logger = logging.getLogger("bindings.app")
    logs.log(logger, logging.INFO, "handled", {"attempt": 1})
    assert stream.getvalue() == ""
    logging.getLogger().addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="bindings.app"):
        logs.log(logger, logging.INFO, "handled", {"attempt": 1})
    assert [(record.getMessage(), record.attempt) for record in caplog.records] == [("handled", 1)]  # type: ignore[attr-defined]
    assert json.loads(stream.getvalue())["attempt"] == 1
    with pytest.raises(KeyError):  # as `Logger.log` refuses an `extra` that overwrites a record attribute
        logs.log(logger, logging.WARNING, "m", {"name": "x"})


class Traced(Message):
    """An event that names the request it belongs to."""

    version: Literal[1] = 1
    id: str
    correlation_id: str | None = None


def test_lines_a_handler_writes_carry_the_correlation_id_else_the_id(pipe: tuple[int, Any]) -> None:
    """Inside the handler, lines carry the payload's `correlation_id`, else its `id`; `handled` neither."""
    read, stream = pipe
    logs.configure("orders-app", {}, stream=stream)
    app = FunctionApp("orders-app")
    app.queue("orders", model=Event)(lambda _event: logging.getLogger("h").info("inside"))
    app.queue("traced", model=Traced)(lambda _event: logging.getLogger("h").info("inside"))
    bodies = {
        "orders": {"version": 1, "id": "e1"},
        "traced": {"version": 1, "id": "e2", "correlation_id": "c2"},
    }
    for binding, expected in (("orders", "e1"), ("traced", "c2")):
        app.handle(binding, json.dumps(bodies[binding]).encode(), {"messageID": "m", "dequeueCount": "1"})
        inside, handled = pending(read)
        assert (inside["message"], inside["correlation_id"], handled["message"]) == (
            "inside",
            expected,
            "handled",
        )
        assert "correlation_id" not in handled
