"""The JSON line of a log record: the fields, the context of `log_context`, `extra`; built cheaply.

One line is written per event (BENCHMARKS.md, framework; `bench/log_instructions.py`), so the line is
written out field by field and the time formatted once a second; `_general` builds the same line
through a dict where a field replaces another. `bindings.logs` writes the lines.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote  # a JSON string, non-ASCII kept
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from contextlib import AbstractContextManager

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("bindery_log_context", default={})  # noqa: B039 - never mutated, replaced per scope
_OWN = tuple(vars(logging.makeLogRecord({})))  # a record's own attributes, set first; `extra` ones follow
RESERVED = frozenset((*_OWN, "message", "asctime"))  # and what `logging.Formatter.format` adds
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
        self._heads: dict[tuple[str, str], str] = {}  # (level, logger) -> the fields they make

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as one JSON line: the fields, the context, `extra`; `_general`'s line, cheaper."""
        context, attributes = _context.get(), vars(record)
        extra: list[tuple[str, Any]] = []
        if len(attributes) > len(_OWN):  # `extra` fields follow a record's own attributes
            extra = list(itertools.islice(attributes.items(), len(_OWN), None))
        if record.exc_info or "message" in attributes or "asctime" in attributes:  # (the last two: set
            return self._general(record, context, extra)  # by another formatter)
        line = self.line(record.created, record.levelname, record.name, record.getMessage(), extra)
        return self._general(record, context, extra) if line is None else line

    def line(
        self, created: float, level: str, logger: str, message: str, extra: Iterable[tuple[str, Any]]
    ) -> str | None:
        """The line of a record without an exception; None where a field replaces another (`_general`)."""
        context = _context.get()
        if not _HEAD.isdisjoint(context):
            return None
        head = self._heads.get((level, logger))
        if head is None:
            head = f'"level": {_quote(level.lower())}, "app": {self._quoted_app}, "logger": {_quote(logger)}'
            self._heads[level, logger] = head
        line = f'{{"time": "{self.timestamp(created)}", {head}, "message": {_quote(message)}'
        for key, value in context.items():
            line += f", {_quote(key)}: {_quote(value) if value.__class__ is str else _json(value)}"
        for key, value in extra:
            if key in _HEAD or key in context:  # replaces a field: in its place
                return None
            line += f", {_quote(key)}: {_json(value)}"
        return line + "}"

    def _general(
        self, record: logging.LogRecord, context: dict[str, str], extra: list[tuple[str, Any]]
    ) -> str:
        """The same line through a dict and the encoder: what a later key replaces, it replaces in place."""
        entry: dict[str, Any] = {
            "time": self.timestamp(record.created), "level": record.levelname.lower(), "app": self._app,
            "logger": record.name, "message": record.getMessage(),
            **context, **{key: value for key, value in extra if key not in RESERVED},
        }  # fmt: skip
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
