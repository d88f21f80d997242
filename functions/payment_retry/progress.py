"""How far a case has come, as its `DunningEvent`s (version 2) say: its `step` and its `email_step`.

Both are read from the case record only (its outbox, its `sent` keys, its timeline), so recomputing an
event gives the same values.

- `step`: the number of `attempt.charged` events the case owes or has sent (`dunning:{case}:attempt:{n}`
  keys), counting the one being built: 0 on `case.opened`, the count at the close on a close. None when
  the case is not `stepped` (opened before version 2, so its `case.opened` had no step), and on an
  `attempt.charged` built once a close is owed or sent (a charge answered after an operator closed the
  case, or after it gave up): the close already took the case off the gauges at its step.
- `email_step`: on a close, the template of the last email of the policy's ladder (its `on_failure`
  and `attempts` templates: not `on_recovery` or `on_give_up`, which follow the close) whose key is in
  the case's `sent` when the close is built: dunning handed it to the email-requests queue (the outbox
  flush) before this close was recorded. Not sent, so not counted: an email skipped by the policy's
  spacing (never queued), skipped as suppressed (`sent`, but noted `email skipped` on the timeline),
  still in the outbox (held by quiet hours, its queue down, or due but not flushed yet: after days
  without a tick it goes in the same flush as the close, after the close was recorded), or dropped by
  an operator's close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.domain_events import CLOSES, DUNNING, dunning_event_id
from functions.payment_retry.policy import load_policy

if TYPE_CHECKING:
    from functions.common.domain_events import DunningEventType
    from functions.payment_retry.model import Case

SKIPPED = "email skipped"  # the timeline entry of an email not sent (`dunning.Dunning._flush`)
SUPPRESSED = ": suppressed"  # its detail's end when the address is suppressed, after the key


def known_events(case: Case) -> set[str]:
    """The outbox keys of the domain events `case` owes or has sent."""
    keys = {item.key for item in case.outbox} | set(case.sent)
    return {key for key in keys if key.startswith(f"{DUNNING}:")}


def charges(case: Case) -> int:
    """How many `attempt.charged` events `case` owes or has sent."""
    prefix = f"{DUNNING}:{case.case_id}:attempt:"
    return sum(1 for key in known_events(case) if key.startswith(prefix))


def close_known(case: Case) -> bool:
    """Whether `case` owes or has sent the event of a close (any of them: a case has one at most)."""
    keys = known_events(case)
    return any(f"{DUNNING}:{dunning_event_id(kind, case.case_id)}" in keys for kind in CLOSES)


def step(case: Case, kind: DunningEventType) -> int | None:
    """The `step` of the `kind` event `case` (before owing it) is about to owe; see the module."""
    if not case.stepped:
        return None
    if kind == "case.opened":
        return 0
    if kind == "attempt.charged":
        return None if close_known(case) else charges(case) + 1
    return charges(case)


def email_step(case: Case) -> str | None:
    """The last ladder email `case` has sent (not suppressed), by template; None if none: see the module."""
    emails = load_policy(case.policy, case.policy_version).emails
    ladder = {emails.on_failure, *emails.attempts} - {emails.on_recovery, emails.on_give_up}
    suppressed = {
        event.detail.removesuffix(SUPPRESSED)
        for event in case.timeline
        if event.what == SKIPPED and event.detail.endswith(SUPPRESSED)
    }
    for key in reversed(case.sent):
        template = _template(case.case_id, key)
        if template in ladder and key not in suppressed:
            return template
    return None


def _template(case_id: str, key: str) -> str | None:
    """The template of email key `{case}:{template}:{number}` (`outcomes._email`), or None."""
    rest = key.removeprefix(f"{case_id}:")
    template, _, number = rest.partition(":")
    return template if rest != key and number.isdigit() else None
