"""Structured JSON logs: one object a line, with the app, binding, message and correlation ids.

Each line reaches stderr's file descriptor in one `write` before the logging call returns: no
buffer holds lines for a kill -9 to lose. One is written per event, so it is kept cheap (BENCHMARKS.md,
framework; `bench/log_instructions.py`): the line is written out field by field, the time formatted
once a second, records skip the caller, thread and process look-ups, and the lock covers the write alone.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote  # a JSON string, non-ASCII kept
from typing import TYPE_CHECKING, Any, TextIO

from bindings.settings import Setting

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

LEVEL = Setting("BINDERY_LOG_LEVEL", "INFO", "the least severe log level written (DEBUG, INFO, WARNING…)")

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("bindery_log_context", default={})  # noqa: B039 - never mutated, replaced per scope
_OWN = tuple(vars(logging.makeLogRecord({})))  # a record's own attributes, set first; `extra` ones follow
_RESERVED = frozenset((*_OWN, "message", "asctime"))  # and what `logging.Formatter.format` adds
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode
_HEAD = frozenset(("time", "level", "app", "logger", "message"))  # the fields every line starts with
_MILLIS = tuple(f".{ms:03d}+00:00" for ms in range(1000))  # the end of the time field


class _Scope:
    """The context manager `log_context` returns (a class: cheaper than a generator, twice an event)."""

    __slots__ = ("_fields", "_token")

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def __enter__(self) -> None:
        self._token = _context.set({**_context.get(), **self._fields})

    def __exit__(self, *_exc: object) -> None:
        _context.reset(self._token)


def log_context(**fields: str | None) -> AbstractContextManager[None]:
    """Add `fields` (None values are left out) to every log line written inside the block."""
    if None in fields.values():
        fields = {key: value for key, value in fields.items() if value is not None}
    return _Scope(fields)  # type: ignore[arg-type]  # None values are gone


def _json(value: object) -> str:
    """`value` as `_encode` writes it: strings and ints without building an encoder."""
    if value.__class__ is str:
        return _quote(value)
    if value.__class__ is int:  # not bool, not an int subclass with its own repr
        return repr(value)
    return _encode(value)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object with the current log context and any `extra` fields."""

    def __init__(self, app: str) -> None:
        super().__init__()
        self._app, self._quoted_app = app, _quote(app)
        self._second: tuple[int, str] = (-1, "")  # one tuple: replaced whole, safe across threads

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line: the fields, the context, `extra`; `_general`'s line, cheaper."""
        context, attributes = _context.get(), vars(record)
        extra: list[tuple[str, Any]] = []
        if len(attributes) > len(_OWN):  # `extra` fields follow a record's own attributes
            extra = list(itertools.islice(attributes.items(), len(_OWN), None))
        if (
            record.exc_info
            or not _HEAD.isdisjoint(context)
            or "message" in attributes
            or "asctime" in attributes
        ):
            return self._general(record, context, extra)  # (the last two: set by another formatter)
        line = (
            f'{{"time": "{self.timestamp(record.created)}", "level": {_quote(record.levelname.lower())}, '
            f'"app": {self._quoted_app}, "logger": {_quote(record.name)}, '
            f'"message": {_quote(record.getMessage())}'
        )
        for key, value in context.items():
            line += f", {_quote(key)}: {_json(value)}"
        for key, value in extra:
            if key in _HEAD or key in context:  # replaces a field: in its place
                return self._general(record, context, extra)
            line += f", {_quote(key)}: {_json(value)}"
        return line + "}"

    def _general(
        self, record: logging.LogRecord, context: dict[str, str], extra: list[tuple[str, Any]]
    ) -> str:
        """The same line through a dict and the encoder: what a later key replaces, it replaces in place."""
        entry: dict[str, Any] = {
            "time": self.timestamp(record.created),
            "level": record.levelname.lower(),
            "app": self._app,
            "logger": record.name,
            "message": record.getMessage(),
            **context,
            **{key: value for key, value in extra if key not in _RESERVED},
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encode(entry)

    def timestamp(self, created: float) -> str:
        """`datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`, the same digits.

        Microseconds are rounded half to even as `fromtimestamp` rounds them, then cut to milliseconds
        as `isoformat` does; the date and time to the second are formatted once a second.
        """
        second = int(created)  # the fraction, `created - second`, is exact: `math.modf`'s
        micros = round((created - second) * 1e6)
        if micros >= 1_000_000:  # noqa: PLR2004 - rounded up to the next second
            second, micros = second + 1, micros - 1_000_000
        cached = self._second
        if cached[0] != second:
            cached = (second, datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:19])
            self._second = cached
        return cached[1] + _MILLIS[micros // 1000]


class JsonHandler(logging.Handler):
    """Write each record as a JSON line with one write to `stream`'s file descriptor, before returning.

    A stream without one (pytest's capture, a StringIO) gets the line written and flushed instead.
    """

    def __init__(self, app: str, stream: TextIO) -> None:
        super().__init__()
        self._formatter = JsonFormatter(app)
        self.setFormatter(self._formatter)
        self._stream = stream
        self._guard = self.lock or threading.RLock()  # logging's lock: re-initialised after a fork
        self._encoding = (
            getattr(stream, "encoding", None) or "utf-8",
            getattr(stream, "errors", None) or "strict",
        )
        try:
            self._fd: int | None = stream.fileno()
            stream.flush()  # what was written before goes first
        except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both of the first two
            self._fd = None

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit `record`; unlike `logging.Handler`, without taking the lock to format it."""
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Write `record`'s line whole: the lock keeps lines apart, even ones past a pipe's atomic size."""
        try:
            line = self._formatter.format(record) + "\n"
            with self._guard:
                if self._fd is None:
                    self._stream.write(line)
                    self._stream.flush()
                else:
                    data = line.encode(*self._encoding)
                    written = os.write(self._fd, data)
                    while written < len(data):  # cut short (a signal, a full disk): the rest
                        written += os.write(self._fd, data[written:])
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as logging's handlers do: report it, never raise into the caller
            self.handleError(record)


def configure(app: str, environ: Mapping[str, str] = os.environ, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) as JSON, at `$BINDERY_LOG_LEVEL` (default INFO).

    Records then skip finding the calling file, line and function, and the thread and process
    names: `logging`'s documented switches, for fields the JSON line does not carry.
    """
    level = LEVEL.string(environ).upper()
    if level not in logging.getLevelNamesMapping():
        raise LEVEL.refused(level, ", ".join(logging.getLevelNamesMapping()))
    logging._srcfile = None  # noqa: SLF001 - the logging HOWTO's "Optimization" switch
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [JsonHandler(app, sys.stderr if stream is None else stream)]
    root.setLevel(level)
