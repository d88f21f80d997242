"""An operator releases a held case (`case.release`, sent by `bindery cases release`).

A case is held when nothing may be charged until someone decides: failures that disagree
(`arrivals.conflicted`), a request the processor refused or an answer in doubt (`outcomes.held`), a
success that closed the case while our charge was unanswered (`doubles`). The operator decides one of:

- `resume`: the hold is cleared and dunning goes on with the case's own terms, its next charge where
  the schedule puts it now (never sooner than the policy's spacing allows; a step overdue during the
  hold is due at the next tick, and a case past its deadline gives up at the next tick). An attempt left
  in doubt is asked again under its key. Only an open case resumes.
- `close`: dunning ends, canceled by the operator: no further charge, the emails it still owed are
  dropped, no final action is sent (the subscription is the operator's to handle).

The release is noted on the timeline with its event id, reason and operator, so a redelivery changes
nothing. A release for an unknown case, a case that is not held, or `resume` of a closed case is
refused (`PermanentError`: dead-lettered with the reason).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bindings.errors import PermanentError
from bindings.optimistic import retry_conflicts
from functions.common.messages import EmailRequested
from functions.payment_retry import publications
from functions.payment_retry.policy import load_policy
from functions.payment_retry.schedule import GiveUp, next_step

if TYPE_CHECKING:
    from datetime import datetime

    from functions.payment_retry.dunning import Dunning
    from functions.payment_retry.model import Case
    from functions.payment_retry.operator_events import CaseRelease

_log = logging.getLogger(__name__)
_TRIES = 25


def on_release(dunning: Dunning, event: CaseRelease, now: datetime) -> None:
    """Release the held case as the operator decided; `PermanentError` when there is nothing to release."""

    def once() -> str | None:  # why the release is refused, if it is
        case, etag = dunning.cases.get(event.case_id)
        if case is None:
            return f"case.release {event.event_id}: no case {event.case_id}"
        if case.has_seen(event.event_id):
            _log.info("case.release %s: already applied to %s", event.event_id, case.case_id)
            return None
        if case.held is None:
            why = f"case {case.case_id} is not held ({case.status}): nothing to release"
            return f"case.release {event.event_id}: {why}"
        if event.decision == "resume" and not case.is_open:
            return (
                f"case.release {event.event_id}: case {case.case_id} is {case.status}: a closed case never"
                " resumes (release it with --close)"
            )
        after = resumed(case, event, now) if event.decision == "resume" else closed(case, event, now)
        dunning.cases.index_next_due(after, now)
        dunning.cases.replace(after, etag)
        _log.warning("case %s released (%s) by %s: %s", case.case_id, event.decision, event.operator,
                     event.reason)  # fmt: skip
        return None

    reason = retry_conflicts(once, tries=_TRIES)
    if reason is not None:
        _log.error("%s", reason)
        raise PermanentError(reason)


def _detail(case: Case, event: CaseRelease) -> str:
    return f"by {event.operator} ({event.event_id}): {event.reason}; it was held: {case.held}"


def resumed(case: Case, event: CaseRelease, now: datetime) -> Case:
    """`case` with its hold cleared and its next charge where its schedule puts it from `now`."""
    policy = load_policy(case.policy, case.policy_version)
    made = sum(1 for attempt in case.attempts if attempt.outcome != "pending")
    previous = max((attempt.finished_at for attempt in case.attempts if attempt.finished_at), default=None)
    step = next_step(policy, case.failed_at, case.timezone, made, now, previous=previous)
    update: dict[str, object] = {
        "held": None,
        "timeline": case.noted(now, "hold released: resume", _detail(case, event), event.event_id),
    }
    if isinstance(step, GiveUp):
        update |= {"next_charge_at": None, "give_up_at": step.at}
    else:
        update["next_charge_at"] = step.charge_at
    return case.model_copy(update=update)


def closed(case: Case, event: CaseRelease, now: datetime) -> Case:
    """`case` closed by the operator: canceled, nothing more charged, the emails it owed dropped.

    The event of how it ended is owed now (`case.canceled`, or a closed case's own, once).
    """
    dropped = [item.key for item in case.outbox if isinstance(item.message, EmailRequested)]
    detail = _detail(case, event) + (f"; emails dropped: {', '.join(dropped)}" if dropped else "")
    after = case.model_copy(
        update={
            "status": "canceled" if case.is_open else case.status,
            "held": None,
            "waiting_for_update": False,
            "next_charge_at": None,
            "outbox": tuple(item for item in case.outbox if item.key not in dropped),
            "timeline": case.noted(now, "hold released: close", detail, event.event_id),
        }
    )
    return publications.closed(after, now)
