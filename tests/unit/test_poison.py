"""Poison decisions: dead-letter invalid and permanent failures at once, transient ones after N tries."""

from __future__ import annotations

import pytest

from bindings.errors import ConflictError, PermanentError, TransientError
from bindings.poison import Failure, Verdict, classify, decide, dequeue_count


@pytest.mark.parametrize("attempt", [1, 2, 5, 9])
def test_invalid_and_permanent_are_dead_lettered_on_any_attempt(attempt: int) -> None:
    """Retrying cannot fix bad input, so the first attempt already dead-letters."""
    assert decide(Failure.INVALID, attempt, 5) is Verdict.DEAD_LETTER
    assert decide(Failure.PERMANENT, attempt, 5) is Verdict.DEAD_LETTER


def test_transient_is_retried_until_the_attempt_limit() -> None:
    """Attempts 1..N-1 are retried; attempt N and later are dead-lettered."""
    assert [decide(Failure.TRANSIENT, attempt, 3) for attempt in (1, 2, 3, 4)] == [
        Verdict.RETRY,
        Verdict.RETRY,
        Verdict.DEAD_LETTER,
        Verdict.DEAD_LETTER,
    ]


def test_classify_treats_only_permanent_errors_as_permanent() -> None:
    """Permanent errors are permanent; conflicts (contention) and anything unexpected are transient."""
    assert classify(PermanentError("x")) is Failure.PERMANENT
    assert classify(ConflictError("x")) is Failure.TRANSIENT
    assert classify(TransientError("x")) is Failure.TRANSIENT
    assert classify(KeyError("x")) is Failure.TRANSIENT


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [({"dequeueCount": "3"}, 3), ({}, 1), ({"dequeueCount": "x"}, 1), ({"dequeueCount": "0"}, 1)],
)
def test_dequeue_count_reads_the_binding_string(metadata: dict[str, str], expected: int) -> None:
    """DequeueCount arrives as a string; missing or garbage counts as the first attempt."""
    assert dequeue_count(metadata) == expected
