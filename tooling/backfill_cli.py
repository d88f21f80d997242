"""`bindery stripe backfill --since TIME [--until TIME] [--dry-run]`: Stripe's events missed in an outage.

What it lists, maps and queues is `stripe_backfill`'s; replays are harmless (the engine dedupes by
`event_id`). The CLI talks to Stripe directly over HTTPS from the operator's machine, with the API key
in `STRIPE_API_KEY` (never an argument: it would land in the shell's history); a restricted key needs
*Read* on **Events** (the list) and on **Invoices** (an invoice's decline, as the intake asks). It
refuses to run without one. `--stripe-url` is Stripe's (https://api.stripe.com); plain `http://` only
to loopback, where the processor sandbox serves. Payment events go on `payment-events` as `bindery
cases release` puts its message: the local stack's Azurite, `--connection-string` or `--account-url`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bindings.errors import BinderyError, TransientError
from bindings.messages import encode_message
from functions.common.stripe import StripeAnswer, StripeRequest
from functions.common.stripe_answers import mask_keys
from tooling import release_cli, stripe_backfill

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient
    from pydantic import BaseModel

KEY_ENV = "STRIPE_API_KEY"
STRIPE_URL = "https://api.stripe.com"
_KEPT = 30 * 24 * 3600  # seconds of events Stripe lists
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_NO_KEY = (
    f"bindery: set {KEY_ENV} to a Stripe secret key (sk_…) or a restricted key (rk_…) with Read on Events"
    " and Invoices; it is read from the environment only, never from the command line"
)


class HttpsTransport:
    """A `StripeTransport` straight to Stripe over urllib, the operator's key as `Authorization: Bearer`."""

    def __init__(self, base_url: str, key: str, timeout: float = 30.0) -> None:
        self.base, self.timeout = base_url.rstrip("/"), timeout
        self._authorization = f"Bearer {key}"

    def send(self, request: StripeRequest) -> StripeAnswer:
        """The answer, whatever its status; `TransientError` when there is none."""
        headers = dict(request.headers) | {"Authorization": self._authorization}
        sent = urllib.request.Request(  # noqa: S310 - https, or loopback http (`stripe_url`)
            self.base + request.path, data=request.body or None, method=request.method, headers=headers
        )
        try:
            with urllib.request.urlopen(sent, timeout=self.timeout) as answer:  # noqa: S310
                return StripeAnswer(int(answer.status), bytes(answer.read()))
        except urllib.error.HTTPError as error:
            with error:
                return StripeAnswer(error.code, error.read())
        except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException) as error:
            raise TransientError(mask_keys(f"Stripe at {self.base} did not answer: {error}")) from error


class QueueTarget:
    """A `Queue` over an Azure `QueueClient`: each message as the app reads it, a failure `TransientError`."""

    def __init__(self, client: QueueClient) -> None:
        self.client = client

    def send(self, message: BaseModel) -> None:
        """Enqueue `message` as compact JSON."""
        from azure.core.exceptions import AzureError  # noqa: PLC0415 - loads the Azure SDK

        try:
            self.client.send_message(encode_message(message).decode("ascii"))
        except AzureError as error:
            raise TransientError(f"payment-events: {error}") from error


def parser() -> argparse.ArgumentParser:
    """The arguments after `bindery stripe backfill`."""
    parse = argparse.ArgumentParser(
        prog="bindery stripe backfill",
        description="Replay the Stripe events of a period onto payment-events, as the intake would have"
        f" taken them (after an outage longer than Stripe's 3 days of retries). The key: ${KEY_ENV}.",
    )
    parse.add_argument("--since", required=True, type=moment, help="from (ISO 8601, UTC unless an offset)")
    parse.add_argument("--until", type=moment, help="to, inclusive (default: now)")
    parse.add_argument("--dry-run", action="store_true", help="list and map, queue nothing")
    parse.add_argument("--stripe-url", type=stripe_url, default=STRIPE_URL, help=f"default {STRIPE_URL}")
    release_cli.add_payment_events_target(parse)
    return parse


def moment(text: str) -> int:
    """`text` (ISO 8601 time or date, or Unix seconds) as Unix seconds; a time without offset is UTC."""
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: not an ISO 8601 time such as 2026-12-01T09:00Z"
        ) from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def stripe_url(text: str) -> str:
    """`text` if it is https, or http to loopback (the key must not cross a network in the clear)."""
    url = urlsplit(text)
    if url.scheme == "https" or (url.scheme == "http" and url.hostname in _LOOPBACK):
        return text
    raise argparse.ArgumentTypeError(f"{text!r}: https, or http to 127.0.0.1 (the sandbox) only")


def main(argv: list[str]) -> int:
    """Run the backfill with `argv` (what follows `backfill`): 0 when every event was handled, else 1."""
    from azure.core.exceptions import AzureError  # noqa: PLC0415 - loads the Azure SDK

    args = parser().parse_args(argv)
    key = os.environ.get(KEY_ENV, "").strip()
    if not key.startswith(("sk_", "rk_")):
        print(_NO_KEY if not key else f"{_NO_KEY} ({KEY_ENV} holds no such key)", file=sys.stderr)
        return 2
    if args.since < datetime.now(UTC).timestamp() - _KEPT:
        print("bindery: Stripe lists the events of the last 30 days only", file=sys.stderr)
    transport = HttpsTransport(args.stripe_url, key)
    local = args.stripe_url.lower().startswith("http:")  # `stripe_url`: plain http only to loopback
    try:
        events = stripe_backfill.fetch(transport, since=args.since, until=args.until)
        print(f"{len(events)} events listed by {args.stripe_url} from {_iso(args.since)}", flush=True)
        if args.dry_run:
            tally = stripe_backfill.replay(events, transport, None, loopback_http=local)
        else:
            where = {"connection_string": args.connection_string, "account_url": args.account_url}
            with release_cli.payment_events(**where) as client:
                tally = stripe_backfill.replay(events, transport, QueueTarget(client), loopback_http=local)
    except (BinderyError, AzureError, ValueError) as error:
        print(f"bindery: {mask_keys(str(error))}", file=sys.stderr)
        return 1
    print("\n".join(tally.lines(dry_run=args.dry_run)))
    return 0 if tally.complete else 1


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()
