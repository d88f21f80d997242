"""`bindery cases release CASE_ID --reason TEXT (--resume | --close)`: release a held dunning case.

The CLI reads the state store read-only, so it never releases a case itself: it puts a `case.release`
message (`functions/payment_retry/operator_events.py`) on `payment-events`, and payment-retry applies
it through its normal path (idempotent, noted on the case's timeline, dead-lettered with the reason
when there is nothing to release). Locally it reaches the stack's Azurite; `--connection-string`
reaches any storage account with keys, `--account-url` a deployed one with Entra ID (`az login`).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bindings.messages import encode_message
from functions.common import names
from functions.payment_retry.operator_events import CaseRelease
from tooling import components, storage_cli
from tooling.paths import project_root

if TYPE_CHECKING:
    from collections.abc import Iterator

    from azure.storage.queue import QueueClient


def parser() -> argparse.ArgumentParser:
    """The arguments after `bindery cases release`."""
    parse = argparse.ArgumentParser(
        prog="bindery cases release",
        description="Ask payment-retry to release a held case: resume dunning on its schedule, or close it.",
    )
    parse.add_argument("case_id", help="the held case (its payment id)")
    parse.add_argument("--reason", required=True, help="why, written on the case's timeline")
    decision = parse.add_mutually_exclusive_group(required=True)
    decision.add_argument(
        "--resume", dest="decision", action="store_const", const="resume",
        help="clear the hold: dunning goes on with the case's terms, its next charge on its schedule",
    )  # fmt: skip
    decision.add_argument(
        "--close", dest="decision", action="store_const", const="close",
        help="end dunning: canceled by the operator, no further charge, email or final action",
    )  # fmt: skip
    parse.add_argument("--operator", default=_user(), help="who decides (default: your user name)")
    add_payment_events_target(parse)
    return parse


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def message(args: argparse.Namespace, now: datetime) -> CaseRelease:
    """The `case.release` the arguments ask for, with a new event id; `ValueError` when invalid."""
    return CaseRelease(
        type="case.release",
        event_id=f"rel_{uuid.uuid4().hex}",
        case_id=args.case_id,
        decision=args.decision,
        reason=args.reason,
        operator=args.operator,
        requested_at=now,
    )


def encode(release: CaseRelease) -> str:
    """The queue text of `release`: compact JSON, as the app reads it."""
    return encode_message(release).decode("ascii")


def queue_name() -> str:
    """The queue the `payment-events` binding reads."""
    component = components.load(project_root() / "components" / "local")[names.PAYMENT_EVENTS]
    return str(component["metadata"]["queue"])


def add_payment_events_target(parse: argparse.ArgumentParser) -> None:
    """`--connection-string` or `--account-url`: where `payment_events` finds the queue (default: local)."""
    where = parse.add_mutually_exclusive_group()
    where.add_argument(
        "--connection-string", default=os.environ.get("BINDERY_STORAGE_CONNECTION_STRING"),
        help="the storage account's connection string ($BINDERY_STORAGE_CONNECTION_STRING)",
    )  # fmt: skip
    where.add_argument(
        "--account-url", default=os.environ.get("BINDERY_STORAGE_ACCOUNT_URL"),
        help="a deployed account's queue endpoint, https://NAME.queue.core.windows.net, signed in with"
        " Entra ID ($BINDERY_STORAGE_ACCOUNT_URL; needs the azure extra)",
    )  # fmt: skip


def send(release: CaseRelease, *, connection_string: str | None, account_url: str | None) -> None:
    """Put `release` on payment-events: at `account_url`, with `connection_string`, or the local stack's."""
    with payment_events(connection_string=connection_string, account_url=account_url) as queue:
        queue.send_message(encode(release))


@contextlib.contextmanager
def payment_events(*, connection_string: str | None, account_url: str | None) -> Iterator[QueueClient]:
    """payment-events: at `account_url` (Entra ID), with `connection_string`, or the local stack's."""
    from azure.storage.queue import QueueServiceClient  # noqa: PLC0415 - loads the Azure SDK

    if account_url:
        try:
            from azure.identity import DefaultAzureCredential  # noqa: PLC0415
        except ImportError:
            raise ValueError('--account-url needs azure-identity: pip install -e ".[azure]"') from None
        yield QueueServiceClient(account_url, credential=DefaultAzureCredential()).get_queue_client(
            queue_name()
        )
        return
    if connection_string:
        yield QueueServiceClient.from_connection_string(connection_string).get_queue_client(queue_name())
        return
    with storage_cli.storage() as local:
        yield QueueServiceClient.from_connection_string(local).get_queue_client(queue_name())


def main(argv: list[str]) -> int:
    """Run `bindery cases release` with `argv` (what follows `release`); 1 when the message is not sent."""
    from azure.core.exceptions import AzureError  # noqa: PLC0415

    args = parser().parse_args(argv)
    try:
        release = message(args, datetime.now(UTC))
        send(release, connection_string=args.connection_string, account_url=args.account_url)
    except (ValueError, AzureError) as error:
        print(f"bindery: {error}", file=sys.stderr)
        return 1
    print(
        f"queued {release.type} {release.event_id} ({release.decision}) for case {release.case_id} on"
        f" {queue_name()}; `bindery cases {release.case_id}` shows it once payment-retry takes it in"
    )
    return 0
