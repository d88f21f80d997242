"""Helpers for the kill-in-flight run: a smaller fleet, who holds what, records, and the operator's listing.

The fleet is `fleet.Fleet` (three replicas per app on PostgreSQL) with only the apps the run needs.
The operator's listing is `bindery emails --state-url`'s own function over the fleet's PostgreSQL,
whose stores use the deployed components' table prefixes.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.common import names
from tests.integration.helpers import postgres_components
from tests.reliability import effects
from tests.reliability.fleet import Fleet, specs
from tooling import postgres, state_reader
from tooling.sidecar import RunningApp
from tooling.stack import Stack

if TYPE_CHECKING:
    from pathlib import Path


def start_some(
    stack_factory: Callable[..., Stack], folder: Path, values: dict[str, str], env: dict[str, str],
    app_ids: tuple[str, ...],
) -> Fleet:  # fmt: skip
    """`fleet.start_fleet` with only `app_ids` (and the webhook, which `Fleet.start` always starts)."""
    database = postgres.start(folder / "postgres.log")
    try:
        components = postgres_components(folder, database.connection_string)
        stack = stack_factory(apps=[], components=components, values=values)
        fleet = Fleet(stack=stack, database=database, replicas={})
        fleet.start({k: v for k, v in specs(env).items() if k in {*app_ids, names.EMAIL_WEBHOOK}})
    except BaseException:
        database.stop()
        raise
    return fleet


def enqueue(stack: Stack, queue: str, body: dict[str, Any]) -> str:
    """Put `body` on `queue` as plain JSON, as a producer would; the queue message's id."""
    return str(stack.queue_service().get_queue_client(queue).send_message(json.dumps(body)).id)


def queued_mentioning(stack: Stack, queue: str, text: str) -> list[str]:
    """The `request_id`s of the messages on `queue` (32 visible at most) whose body holds `text`."""
    found: list[str] = []
    for message in stack.queue_service().get_queue_client(queue).peek_messages(max_messages=32):
        content = str(message.content)
        with contextlib.suppress(ValueError):  # base64 (as Bindery writes) or plain
            content = base64.b64decode(content, validate=True).decode(errors="replace")
        if text in content:
            found.append(str(json.loads(content).get("request_id")))
    return found


def replicas(fleet: Fleet, app_id: str) -> list[RunningApp]:
    """Every running replica of `app_id`."""
    return [fleet.stack.apps[name] for name in fleet.replicas[app_id]]


def by_pid(fleet: Fleet, app_id: str, half: str) -> dict[int, RunningApp]:
    """`app_id`'s replicas by the pid of their app process (`half="app"`) or daprd."""
    return {(r.app if half == "app" else r.daprd).popen.pid: r for r in replicas(fleet, app_id)}


def email_record(fleet: Fleet, request_id: str) -> dict[str, Any]:
    """The `email:{request_id}` record (empty when absent), read through an email-send sidecar."""
    for running in replicas(fleet, names.EMAIL_SEND):  # one may be restarting
        try:
            key = f"email:{request_id}"
            return dict(effects.state(fleet.stack, running.spec.name, names.EMAIL_STATE, [key]).get(key, {}))
        except OSError:
            continue
    raise AssertionError("no email-send sidecar answered")


def case(fleet: Fleet, case_id: str) -> dict[str, Any]:
    """The dunning case `case_id` (empty when absent), read through a payment-retry sidecar."""
    sidecar = fleet.replicas[names.PAYMENT_RETRY][0]
    key = f"case:{case_id}"
    return dict(effects.state(fleet.stack, sidecar, names.STATESTORE, [key]).get(key, {}))


def operator_listing(fleet: Fleet, status: str) -> str:
    """What `bindery emails --status STATUS --state-url …` prints, over this fleet's PostgreSQL."""
    return state_reader.emails_text(fleet.database.connection_string, None, status)
