"""Email lifecycle: each event once, in event order, the furthest status, and the suppression list."""

from __future__ import annotations

from typing import Any

from bindings.testing import MemoryStateStore
from functions.common.suppression import SuppressionList
from functions.email_events.lifecycle import EVENTS, Lifecycle, SendGridEvent

T0 = 1772452800


def event(
    kind: str, n: int, *, request: str | None = "req-1", email: str = "ana@example.com", **more: Any
) -> SendGridEvent:
    """A SendGrid event `n` seconds after T0 with id `{kind}-{n}`."""
    fields = {"event": kind, "email": email, "timestamp": T0 + n, "sg_event_id": f"{kind}-{n}", **more}
    if request is not None:
        fields["request_id"] = request
    return SendGridEvent.model_validate(fields)


def test_events_out_of_order_are_kept_in_event_order_with_the_furthest_status() -> None:
    """An open arriving before delivered and processed: timeline in event order, status open."""
    lifecycle = Lifecycle(MemoryStateStore())
    applied = lifecycle.apply([event("open", 30), event("delivered", 20), event("processed", 10)])
    timeline = lifecycle.timeline("req-1")
    assert timeline is not None
    assert [entry.event for entry in timeline.entries] == ["processed", "delivered", "open"]
    assert timeline.status == "open"
    assert (applied.added, applied.duplicates) == (3, 0)


def test_duplicate_events_and_redelivered_batches_count_once() -> None:
    """The same sg_event_id in one batch or a replayed batch adds nothing."""
    lifecycle = Lifecycle(MemoryStateStore())
    batch = [event("delivered", 1), event("delivered", 1)]
    assert lifecycle.apply(batch).added == 1
    again = lifecycle.apply(batch)
    assert (again.added, again.duplicates) == (0, 2)
    timeline = lifecycle.timeline("req-1")
    assert timeline is not None
    assert len(timeline.entries) == 1


def test_hard_bounces_spam_reports_and_unsubscribes_suppress_but_blocks_do_not() -> None:
    """`bounce` of type bounce, spamreport, unsubscribe: suppressed. type blocked or deferred: not."""
    state = MemoryStateStore()
    lifecycle = Lifecycle(state)
    applied = lifecycle.apply([
        event("bounce", 1, email="Hard@Example.com", type="bounce", reason="550 no such user"),
        event("bounce", 2, email="blocked@example.com", type="blocked"),
        event("deferred", 3, email="later@example.com"),
        event("spamreport", 4, email="spam@example.com", request=None),
        event("unsubscribe", 5, email="bye@example.com"),
        event("bounce", 6, email="hard@example.com", type="bounce"),  # already suppressed
    ])  # fmt: skip
    suppressed = SuppressionList(state)
    assert [a for a in ("hard@example.com", "spam@example.com", "bye@example.com") if a in suppressed] == [
        "hard@example.com", "spam@example.com", "bye@example.com",
    ]  # fmt: skip
    assert "blocked@example.com" not in suppressed
    assert "later@example.com" not in suppressed
    assert (applied.suppressed, applied.untracked) == (3, 1)


def test_the_bounce_reason_is_kept_on_the_timeline() -> None:
    """A bounce entry says its type and the server's reason."""
    lifecycle = Lifecycle(MemoryStateStore())
    lifecycle.apply([event("bounce", 1, type="bounce", reason="550 5.1.1 unknown user")])
    timeline = lifecycle.timeline("req-1")
    assert timeline is not None
    assert timeline.entries[0].detail == "bounce 550 5.1.1 unknown user"
    assert timeline.status == "bounce"


def test_batches_parse_with_unknown_fields_and_category_lists() -> None:
    """SendGrid adds fields and sends `category` as a string or a list: both parse."""
    events = EVENTS.validate_json(
        '[{"email":"a@example.com","timestamp":1,"event":"open","sg_event_id":"x","category":["a","b"],'
        '"useragent":"UA","ip":"1.2.3.4","request_id":"req-9"},'
        '{"email":"a@example.com","timestamp":2,"event":"click","sg_event_id":"y","category":"a","url":"u"}]'
    )
    assert [(e.event, e.request_id) for e in events] == [("open", "req-9"), ("click", None)]
