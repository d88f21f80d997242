"""Structured JSON logs: one object a line, with the app, binding, message and correlation ids."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bindings.settings import Setting

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

LEVEL = Setting("BINDERY_LOG_LEVEL", "INFO", "the least severe log level written (DEBUG, INFO, WARNING…)")

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("bindery_log_context", default={})  # noqa: B039 - never mutated, replaced per scope
_RESERVED = frozenset(vars(logging.makeLogRecord({})))


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add `fields` (None values are left out) to every log line written inside the block."""
    merged = {**_context.get(), **{key: value for key, value in fields.items() if value is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object with the current log context and any `extra` fields."""

    def __init__(self, app: str) -> None:
        super().__init__()
        self._app = app

    def format(self, record: logging.LogRecord) -> str:
        """Render `record` as a single JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "app": self._app,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure(app: str, environ: Mapping[str, str] = os.environ) -> None:
    """Send every log record to stderr as JSON, at `$BINDERY_LOG_LEVEL` (default INFO)."""
    level = LEVEL.string(environ).upper()
    if level not in logging.getLevelNamesMapping():
        raise LEVEL.refused(level, ", ".join(logging.getLevelNamesMapping()))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(app))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
