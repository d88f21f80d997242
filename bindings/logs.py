"""Structured JSON logs: one object a line, with the app, binding, message and correlation ids.

Each line reaches stderr's file descriptor in one `write` before the logging call returns: no
buffer holds lines for a kill -9 to lose. One is written per event, so it is kept cheap (BENCHMARKS.md,
framework; `bench/log_instructions.py`): the line is written out field by field, the time formatted
once a second (`bindings.log_format`), records skip the caller, thread and process look-ups, and the
lock covers the write alone. `log` writes the same line without making a record at all, when no other
handler would see one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

from bindings.log_format import RESERVED, JsonFormatter, log_context
from bindings.settings import Setting

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ("LEVEL", "JsonHandler", "configure", "log", "log_context")

LEVEL = Setting("BINDERY_LOG_LEVEL", "INFO", "the least severe log level written (DEBUG, INFO, WARNING…)")


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
            self._write(self._formatter.format(record) + "\n")
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as logging's handlers do: report it, never raise into the caller
            self.handleError(record)

    def write(self, level: int, logger: str, message: str, extra: dict[str, Any]) -> bool:
        """Write the line a record of these would have, without making one; False (nothing written) if not."""
        try:
            line = self._formatter.line(
                time.time(), logging.getLevelName(level), logger, message, extra.items()
            )
            if line is None:
                return False
            self._write(line + "\n")
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as `emit`
            self.handleError(logging.makeLogRecord({"name": logger, "levelno": level, "msg": message}))
        return True

    def _write(self, line: str) -> None:
        with self._guard:
            if self._fd is None:
                self._stream.write(line)
                self._stream.flush()
            else:
                data = line.encode(*self._encoding)
                written = os.write(self._fd, data)
                while written < len(data):  # cut short (a signal, a full disk): the rest
                    written += os.write(self._fd, data[written:])


def log(logger: logging.Logger, level: int, message: str, extra: dict[str, Any]) -> None:
    """`logger.log(level, message, extra=extra)`; with `configure`'s handler alone, no `LogRecord` is made.

    The same line for half the CPU (`bench/callback_probe.py`): for the line written per event.
    """
    if not logger.isEnabledFor(level):
        return
    owner = logger  # the first logger up the hierarchy with handlers
    while not owner.handlers and owner.propagate and owner.parent is not None:
        owner = owner.parent
    alone = len(owner.handlers) == 1 and (owner.parent is None or not owner.propagate)
    sink = owner.handlers[0] if alone else None
    if not (
        type(sink) is JsonHandler and not (sink.filters or logger.filters or logger.disabled)
        and sink.level <= level and RESERVED.isdisjoint(extra)
        and sink.write(level, logger.name, message, extra)
    ):  # fmt: skip
        logger.log(level, message, extra=extra, stacklevel=2)


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
