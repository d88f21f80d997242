"""Replay the Stripe events the intake missed onto `payment-events`: the core of `bindery stripe backfill`.

Stripe retries a webhook delivery for three days; after a longer outage of the intake, the events it
never took are still listed by `GET /v1/events` (for 30 days). `fetch` pages through them: the types the
intake maps (`mapping.TYPES`), created from `since` (to `until`), 100 a page, each next page asked
`starting_after` the last event of the one before. Stripe lists newest first, so every page is collected
before anything is replayed, and the events are replayed oldest first (by `created`, ties in Stripe's
order reversed), as Stripe would have delivered them.

`replay` maps each event with the intake's own mapping (`functions.stripe_webhook.mapping.map_event`,
asking Stripe for an invoice's decline through `declines.InvoiceDeclines` over the same transport) and
puts each payment event on the queue, exactly as the intake would have. Replaying an event the intake
did take changes nothing: the payment engine dedupes by `event_id` (Stripe's `evt_…`) on the case
timeline. So a backfill over a generous window, or run twice, is harmless. The `Tally` counts what was
listed, mapped, ignored (with the mapping's reasons), unmappable (with the reasons), failed for now
(Stripe did not answer a decline lookup: run again) and queued. Stripe's answers are quoted with API keys
masked (`stripe_answers.mask_keys`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bindings.errors import BinderyError, TransientError
from functions.common import stripe, stripe_lists
from functions.common.stripe_answers import mask_keys
from functions.stripe_webhook.declines import InvoiceDeclines
from functions.stripe_webhook.mapping import TYPES, Ignored, UnmappableError, map_event

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bindings.ports import Queue
    from functions.common.stripe_gateway import StripeTransport

PAGE = 100  # events a page: Stripe's most


class BackfillError(BinderyError):
    """Stripe refused the listing, or answered something that is not a list of events (keys masked)."""


@dataclass
class Tally:
    """What a backfill did; `stopped` says why it ended before the last event (the queue failed)."""

    listed: int = 0
    mapped: int = 0
    queued: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    unmappable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    stopped: str | None = None

    def lines(self, *, dry_run: bool = False) -> list[str]:
        """The report an operator reads: the counts, then each reason."""
        queued = "not queued (--dry-run)" if dry_run else f"queued {self.queued}"
        ignored, unmappable, failed = sum(self.ignored.values()), len(self.unmappable), len(self.failed)
        counts = f"listed {self.listed}, mapped {self.mapped}, ignored {ignored}, unmappable {unmappable}"
        lines = [f"{counts}, failed {failed}, {queued}"]
        lines += [f"  ignored {count}: {reason}" for reason, count in sorted(self.ignored.items())]
        lines += [f"  unmappable: {reason}" for reason in self.unmappable]
        lines += [f"  failed (Stripe did not answer; run again): {reason}" for reason in self.failed]
        if self.stopped is not None:
            lines.append(f"  stopped: {self.stopped}; run again, replays are harmless")
        return lines

    @property
    def complete(self) -> bool:
        """Whether every mappable event was handled: nothing failed, nothing stopped the run."""
        return not self.failed and self.stopped is None


def fetch(transport: StripeTransport, *, since: int, until: int | None = None) -> list[dict[str, Any]]:
    """Every event of `TYPES` created from `since` to `until` (Unix seconds), oldest first.

    `BackfillError` when Stripe refuses a page, `TransientError` when it does not answer.
    """
    newest_first: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        request = stripe_lists.list_events(
            types=TYPES, created_gte=since, created_lte=until, limit=PAGE, starting_after=after
        )
        page = _page(transport.send(request))
        newest_first += page["data"]
        if not page["has_more"] or not page["data"]:
            break
        after = str(page["data"][-1]["id"])
    unique = {str(event["id"]): event for event in reversed(newest_first)}  # oldest first, each id once
    return sorted(unique.values(), key=lambda event: int(event["created"]))  # stable: ties stay oldest first


def replay(
    events: Iterable[dict[str, Any]],
    transport: StripeTransport,
    queue: Queue | None,
    *,
    loopback_http: bool = False,
) -> Tally:
    """Map every event as the intake does and queue each payment event (none with `queue` None: a dry run).

    `loopback_http`: invoice pages may be http to loopback (replaying the local processor sandbox).
    """
    tally, declines = Tally(), InvoiceDeclines(transport)
    for event in events:
        tally.listed += 1
        described = f"{event.get('id')} {event.get('type')}"
        try:
            mapped = map_event(event, declines, loopback_http=loopback_http)
        except UnmappableError as error:
            tally.unmappable.append(mask_keys(str(error)))
            continue
        except TransientError as error:
            tally.failed.append(mask_keys(f"{described}: {error}"))
            continue
        if isinstance(mapped, Ignored):
            tally.ignored[mapped.reason] += 1
            continue
        tally.mapped += 1
        if queue is None:
            continue
        try:
            queue.send(mapped)
        except BinderyError as error:
            tally.stopped = mask_keys(f"{described} not queued: {error}")
            break
        tally.queued += 1
    return tally


def _page(answer: stripe.StripeAnswer) -> dict[str, Any]:
    try:
        body: Any = json.loads(answer.body)
    except ValueError:
        body = None
    if not 200 <= answer.status < 300:  # noqa: PLR2004 - the 2xx range
        error = body.get("error") if isinstance(body, dict) else None
        message = (
            error.get("message") if isinstance(error, dict) else answer.body[:200].decode("utf-8", "replace")
        )
        if answer.status == 429 or answer.status >= 500:  # noqa: PLR2004 - ask again later
            raise TransientError(mask_keys(f"Stripe answered {answer.status} to the events list: {message}"))
        raise BackfillError(mask_keys(f"Stripe answered {answer.status} to the events list: {message}"))
    if not isinstance(body, dict) or body.get("object") != "list" or not isinstance(body.get("data"), list):
        raise BackfillError(mask_keys(f"Stripe answered {answer.status}, not a list: {answer.body[:200]!r}"))
    return body
