"""Clocks behind the `Clock` port: the system's, and a virtual one that simulations step by hand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


@dataclass
class VirtualClock:
    """A clock that moves only when told to; thread-safe."""

    at: datetime
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a virtual clock needs a timezone-aware start")

    def now(self) -> datetime:
        """The virtual time."""
        with self._lock:
            return self.at

    def advance(self, step: timedelta) -> datetime:
        """Move forward by `step` (never back); return the new time."""
        if step < timedelta(0):
            raise ValueError(f"a clock does not run backwards ({step})")
        with self._lock:
            self.at += step
            return self.at
