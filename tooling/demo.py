"""`make demo`: run the local stack, drive a scripted scenario, print and write a summary."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from functions.common import names
from functions.payment_retry.model import Case
from tooling import deadletters, demo_dashboard, demo_documents, demo_events, state_reader
from tooling.sandboxes.processor_client import SandboxTransport
from tooling.simulation import command as simulation
from tooling.stack import DEMO_APPS, Stack, StackConfig
from tooling.waiting import eventually

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from tooling.sidecar import AppSpec

_RUN_STATE = ("azurite", "redis", "mail", "state", "log", "run", "demo", "sandbox")
# (customer, days since the failure, decline): the sandbox's customer prefixes script the outcomes. Each
# failed a day ago, so its first retry is due now; the policy spaces later retries a day apart. The first
# is a Stripe invoice whose automatic payment failed: Stripe's signed event reaches the intake, and the
# retry pays the invoice. The others arrive as Bindery's own events and are charged with PaymentIntents.
_CUSTOMERS = (
    ("cus_ok_demo", 1, {"code": "card_declined", "decline_code": "insufficient_funds"}),
    ("cus_recover1_demo", 1, {"code": "card_declined", "decline_code": "insufficient_funds"}),
    ("cus_hard_demo", 1, {"code": "expired_card"}),
)
_ZONES = ("Europe/Paris", "America/New_York", "Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles")
_DAY_START, _DAY_END = 9, 20
_DEMO_MAILS = 5
_GOOD_ID = "20000101T000000Z"
_HEARTBEATS = 3


def run(
    root: Path,
    *,
    say: Callable[[str], None] = print,
    apps: Sequence[AppSpec] = DEMO_APPS,
    values: Mapping[str, str] | None = None,
    while_up: Callable[[Stack], None] | None = None,
) -> dict[str, Any]:
    """Run the scenario against a fresh stack under `root` and return the summary.

    `apps` and `values` change the stack (`StackConfig`); `while_up(stack)` is called once step 5 is
    done, before the stack stops (the tests read the dashboard and the CLI against it then).
    """
    for name in _RUN_STATE:
        shutil.rmtree(root / name, ignore_errors=True)
    with Stack(StackConfig(root=root, apps=apps, values=values or {})) as stack:
        say(f"stack healthy in {stack.started_in:.1f}s: {', '.join(stack.apps)}")
        if names.DASHBOARD in stack.apps:
            say(f"   the dashboard, while the demo runs: {stack.dashboard_url}")
        documents = stack.blob_service().get_container_client("documents")
        say("1. the demo flow: cron ticks go demo-ticker -> demo-events -> demo-archiver -> documents")
        eventually(
            lambda: sum(1 for _ in documents.list_blobs(name_starts_with="heartbeats/")) >= _HEARTBEATS,
            "heartbeats",
        )
        say("   a malformed message is dead-lettered, and a good one behind it still flows")
        queue = stack.queue_service().get_queue_client(names.DEMO_EVENTS)
        queue.send_message("this is not a heartbeat")
        queue.send_message(json.dumps({"version": 1, "id": _GOOD_ID, "fired_at": "2000-01-01T00:00:00Z"}))
        eventually(
            lambda: documents.get_blob_client(f"heartbeats/{_GOOD_ID}.json").exists(), "the good message"
        )
        letters = stack.blob_service()
        eventually(
            lambda: any(True for _ in deadletters.records(letters, stack.resources)), "the dead letter"
        )
        say("2. dunning: three failed payments, one a Stripe invoice whose signed event reaches the intake;")
        say("   the retry tick charges them through the Stripe adapter (the invoice paid, PaymentIntents)")
        _dunning(stack, say)
        recovered = sum(1 for case in _cases(stack) if case.status == "recovered")
        documents_made = demo_documents.run(stack, recovered, say=say)
        summary = _summary(stack)
        summary["documents"] = documents_made
        summary["dashboard"] = stack.dashboard_url if names.DASHBOARD in stack.apps else None
        summary["domain_events"] = demo_events.run(stack, lambda: _cases(stack), say)
        summary["tiles"] = demo_dashboard.run(stack, say)
        if while_up is not None:
            while_up(stack)
    say("6. a short dunning campaign on a virtual clock (`bindery simulate` runs the full-size one)")
    summary["campaign"] = simulation.describe(simulation.run(days=14, customers=200, seed=7))
    target = root / "demo" / "summary.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2) + "\n")
    summary["summary_file"] = str(target)
    return summary


def _daytime_zone(now: datetime) -> str:
    """A time zone where it is daytime now, so the demo's emails are not held for quiet hours."""
    for zone in _ZONES:
        if _DAY_START <= now.astimezone(ZoneInfo(zone)).hour < _DAY_END:
            return zone
    return _ZONES[0]


def _dunning(stack: Stack, say: Callable[[str], None]) -> None:
    now = datetime.now(UTC)
    zone = _daytime_zone(now)
    payments = stack.queue_service().get_queue_client(names.PAYMENT_EVENTS)
    stripe = SandboxTransport(stack.sandbox_port)
    for number, (customer, days, decline) in enumerate(_CUSTOMERS):
        failed_at = now - timedelta(days=days, minutes=1)
        if number == 0:  # the sandbox, as Stripe, posts the signed invoice.payment_failed to stripe-webhook
            invoice = stripe.create_invoice(
                customer, 2900, "eur", email=f"{customer}@example.com", subscription=f"sub_{customer}",
                metadata={"bindery_timezone": zone},
            )  # fmt: skip
            stripe.fail_invoice(invoice, "soft", created=int(failed_at.timestamp()))  # insufficient_funds
            continue
        event = {
            "type": "payment.failed", "version": 2, "event_id": f"evt_{customer}",
            "payment_id": f"pay_{customer}", "customer_id": customer, "subscription_id": f"sub_{customer}",
            "email": f"{customer}@example.com",
            "amount": 2900, "currency": "EUR", "timezone": zone,
            "failed_at": failed_at.isoformat(), "decline": decline, "payment_method": "pm_card_visa",
        }  # fmt: skip
        payments.send_message(json.dumps(event))

    def statuses() -> dict[str, str]:
        return {case.customer_id: case.status for case in _cases(stack)}

    def declined_once() -> bool:
        cases = {case.customer_id: case for case in _cases(stack)}
        soft = cases.get("cus_recover1_demo")
        return soft is not None and [a.outcome for a in soft.attempts] == ["declined"]

    eventually(declined_once, "the soft decline of cus_recover1_demo's first retry", 90)
    say("   cus_recover1_demo's retry is declined (soft); it adds a new card, and the case retries at once")
    update = {
        "type": "payment_method.updated", "version": 2, "event_id": "evt_card_cus_recover1_demo",
        "customer_id": "cus_recover1_demo", "updated_at": datetime.now(UTC).isoformat(),
        "payment_method": "pm_card_mastercard",
    }  # fmt: skip
    payments.send_message(json.dumps(update))
    expected = {"cus_ok_demo": "recovered", "cus_recover1_demo": "recovered", "cus_hard_demo": "open"}
    eventually(lambda: statuses() == expected, "the dunning cases to settle", 90)
    say("3. email: each dunning email sent through the SendGrid sandbox, its lifecycle followed to delivered")
    # payment_failed x3 and recovered x2 (no reminder: emails are spaced 20 h): email-send mails each once
    eventually(
        lambda: len(list(stack.mail_dir.glob("*.eml"))) >= _DEMO_MAILS, "the dunning emails", timeout=60
    )
    eventually(
        lambda: _lifecycle(stack).count("delivered") >= _DEMO_MAILS, "SendGrid's delivered events", timeout=60
    )


def _lifecycle(stack: Stack) -> list[str]:
    """The lifecycle column of `bindery emails`, one status an email."""
    table = state_reader.emails_text(stack.config.root / "state" / "email.db", None, None)
    return [line.split()[2] for line in table.splitlines()[1:]]


def _cases(stack: Stack) -> list[Case]:
    rows = state_reader.values(stack.config.root / "state" / "state.db", names.PAYMENT_RETRY, "case:")
    return [Case.model_validate_json(value) for _key, value in rows]


def _summary(stack: Stack) -> dict[str, Any]:
    documents = stack.blob_service().get_container_client("documents")
    letters = list(deadletters.records(stack.blob_service(), stack.resources))
    mails = sorted(stack.mail_dir.glob("*.eml")) if stack.mail_dir.exists() else []
    return {
        "stack_ready_seconds": round(stack.started_in, 2),
        "events_handled": {app: _handled(stack.log_dir / f"{app}.log") for app in stack.apps},
        "blobs_written": [f"documents/{blob.name}" for blob in documents.list_blobs()],
        "mails_captured": [_mail_line(path) for path in mails],
        "email_lifecycle": dict(Counter(_lifecycle(stack))),
        "cases": {case.case_id: case.status for case in _cases(stack)},
        "cases_by_customer": {case.customer_id: case.status for case in _cases(stack)},
        "charges": [json.loads(line) for line in stack.ledger.read_text().splitlines() if line.strip()],
        "queued": {
            queue: stack.queue_service()
            .get_queue_client(queue)
            .get_queue_properties()
            .approximate_message_count
            for queue in (names.EMAIL_REQUESTS, names.RECEIPT_REQUESTS, names.BLOB_EVENTS)
        },
        "dead_letters": [
            {
                "id": s.record.id,
                "source": s.record.source,
                "kind": s.record.kind,
                "reason": s.record.reason,
                "blob": f"{deadletters.container_name(stack.resources)}/{s.blob}",
            }
            for s in letters
        ],
        "logs": str(stack.log_dir),
    }


def _mail_line(path: Path) -> str:
    mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return f"{mail['X-Bindery-Envelope-To']}: {mail['Subject']}"


def _handled(log: Path) -> int:
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        message = str(entry.get("message", ""))
        count += message in {"handled", "tick handled", "webhook batch queued"} or message.startswith(
            "stripe event queued"
        )
    return count


def describe(summary: dict[str, Any]) -> str:
    """A readable version of the summary."""
    lines = ["", "Bindery demo summary", "--------------------"]
    lines += [f"  {app:16} handled {count} events" for app, count in summary["events_handled"].items()]
    lines.append(f"  blobs written     {len(summary['blobs_written'])} (e.g. {summary['blobs_written'][0]})")
    lines += [f"  case {case_id:22} {status}" for case_id, status in summary["cases"].items()]
    charges = summary["charges"]
    lines.append(
        f"  charges           {len(charges)}: " + ", ".join(f"{c['key']} {c['outcome']}" for c in charges)
    )
    lines.append(f"  still queued      {summary['queued']}")
    lines += demo_documents.describe(summary["documents"])
    lines.append(
        f"  mails captured    {len(summary['mails_captured'])} (var/mail; `bindery emails` lists them)"
    )
    lines += [f"    - {line}" for line in summary["mails_captured"]]
    lines.append(
        f"  email lifecycle   {summary['email_lifecycle']} (signed events from the SendGrid sandbox)"
    )
    lines += demo_events.describe(summary["domain_events"])
    lines.append(f"  dead letters      {len(summary['dead_letters'])}")
    lines += [f"    - {d['source']} {d['kind']}: {d['reason'][:70]}" for d in summary["dead_letters"]]
    lines += ["", summary["campaign"], ""]
    if summary.get("dashboard"):
        lines.append(
            f"  dashboard         {summary['dashboard']} while the demo ran; `make run` (`bindery run`)"
        )
        lines.append("                    serves it again over the demo's data, at the URL it prints")
    lines.append(f"  logs              {summary['logs']}")
    lines.append(f"  summary           {summary['summary_file']}")
    return "\n".join(lines)
