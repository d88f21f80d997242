"""Policy durations: calendar days ("3d") in the customer's zone, or elapsed hours or minutes ("6h")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator

_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_OFFSET = re.compile(r"([1-9][0-9]{0,4})([dhm])")


@dataclass(frozen=True, slots=True)
class Offset:
    """A duration after the failure: calendar days ("3d") or elapsed hours or minutes ("6h", "90m")."""

    amount: int
    unit: str  # "d", "h" or "m"

    @property
    def calendar(self) -> bool:
        """Whether this counts calendar days in the customer's zone rather than elapsed time."""
        return self.unit == "d"

    @property
    def nominal(self) -> timedelta:
        """The length with every day taken as 24 hours (the real one differs across DST changes)."""
        return self.amount * _UNITS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def _offset(value: object) -> Offset:
    if isinstance(value, Offset):
        return value
    match = _OFFSET.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"a duration is a positive whole number then d, h or m (like '3d'), not {value!r}")
    return Offset(int(match.group(1)), match.group(2))


Duration = Annotated[Offset, PlainValidator(_offset), PlainSerializer(str)]
