"""Kill -9 inside a handler: email-send mid-send (its app, its daprd) and payment-retry mid-charge.

One module-scoped run: three replicas of email-send and payment-retry on PostgreSQL, real daprd,
Azurite, the processor sandbox, and an SMTP capture that holds one chosen reply (`held_smtp`), so
each kill lands while a handler waits on its output binding. The four kills go in first, one after
the other (`kills`); each test then waits for its outcome and prints an invariant table.

Timing. A failed message comes back after VISIBILITY; its 5th failure dead-letters it. A request
found `sending` is settled as `unknown` only after email-send's 60 s grace (functions/email_send/
sends.py), so 4 x VISIBILITY must exceed it, with a margin for the first handler's start: the 5th
attempt, about 68 s after the first, settles it.
The charge's lease is 10 s: the killed replica's claim is taken over after that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from functions.common import names
from tests.reliability import effects, inflight, kills
from tests.reliability.fleet import Fleet
from tests.reliability.held_smtp import HeldSmtp
from tests.reliability.kills import Rig
from tests.reliability.report import Row, table
from tooling import waiting
from tooling.stack import Stack

VISIBILITY, GRACE = 17.0, 60.0
VALUES = {"QUEUE_POLLING_INTERVAL": "250ms", "QUEUE_VISIBILITY_TIMEOUT": f"{VISIBILITY:.0f}s",
          "RETRY_TICK_SCHEDULE": "@every 1s"}  # fmt: skip
RETRY_ENV = {"RETRY_TICK_BUDGET_SECONDS": "0.8", "RETRY_LEASE_SECONDS": "10"}
SETTLE = 4 * VISIBILITY + 30  # seconds after a kill by which its outcome must be final


@pytest.fixture(scope="module")
def rig(stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The fleet with every kill injected: app and daprd mid-send, payment-retry mid-charge."""
    folder = tmp_path_factory.mktemp("in-flight")
    with HeldSmtp(folder / "mail") as smtp:
        values = {**VALUES, "SMTP_PORT": str(smtp.port)}
        apps = (names.EMAIL_SEND, names.PAYMENT_RETRY)
        fleet = inflight.start_some(stack_factory, folder, values, RETRY_ENV, apps)
        try:
            rig = Rig(fleet, smtp)
            rig.shots["app"] = kills.kill_mid_send(rig, "app", "data", "app")  # the longest wait first
            rig.shots["daprd-before"] = kills.kill_mid_send(rig, "dr", "rcpt", "daprd")
            rig.shots["daprd-after"] = kills.kill_mid_send(rig, "dd", "data", "daprd")
            rig.charges.append(kills.kill_mid_charge(rig))
            yield rig
        finally:
            fleet.stack.stop()
            fleet.database.stop()


def _sent(fleet: Fleet, request_id: str) -> bool:
    return inflight.email_record(fleet, request_id).get("status") == "sent"


def _mid_send_rows(rig: Rig, key: str, allowed: set[tuple[str, int]]) -> list[Row]:
    """Rows every mid-send kill shares: killed while `sending`, then one of the `allowed` outcomes.

    An outcome is the final record status with the mails the capture received for the request.
    """
    shot = rig.shots[key]
    record = kills.settled(rig, shot, SETTLE)
    outcome = (str(record.get("status")), rig.smtp.handler.received[shot.hold.address])
    when = str(shot.at_kill.get("status"))
    want = "|".join(f"{status},{copies}" for status, copies in sorted(allowed))
    return [
        (f"{key}: record when {shot.half} of {shot.victim} killed", "sending", when, when == "sending"),
        (f"{key}: record, mails captured", want, "{},{}".format(*outcome), outcome in allowed),
    ]


def _report(capsys: pytest.CaptureFixture[str], rows: list[Row]) -> None:
    with capsys.disabled():
        print("\n" + table(rows))  # noqa: T201 - the suite's report
    assert all(ok for *_, ok in rows), table(rows)


def test_daprd_killed_before_the_mail_left_sends_it_at_most_once(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A daprd killed while RCPT TO waits (no DATA yet): `unknown`, no mail, never retried into a send."""
    # The binding call had reached daprd, so the kill cuts it off in flight (UNAVAILABLE "Stream
    # removed"): an `InDoubtError`. The app cannot tell this kill from one after DATA (the next test),
    # so the record becomes `unknown` at once (attempt 1) and nothing is resent: at most once. Only if
    # the restarted daprd misses the record write's retries does a redelivery settle it, still unknown.
    shot = rig.shots["daprd-before"]
    rows = _mid_send_rows(rig, "daprd-before", {("unknown", 0)})
    attempts = kills.attempts(rig, shot)
    rows.append(
        ("daprd-before: logged attempts", "[1]|<=5", str(attempts), 1 <= max(attempts, default=6) <= 5)
    )
    _report(capsys, rows)


def test_daprd_killed_after_the_server_took_the_mail_never_sends_twice(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A daprd killed after the server stored the mail, before its reply: one copy, record `unknown`."""
    rows = _mid_send_rows(rig, "daprd-after", {("unknown", 1)})
    _report(capsys, rows)


def test_payment_app_killed_between_charge_and_record_charges_once(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """payment-retry killed after the processor charged, before the case says so: one charge, recovered."""
    charge, fleet = rig.charges[0], rig.fleet
    mails = [f"{charge.case_id}:payment_failed:0", f"{charge.case_id}:recovered:1"]

    def settled() -> dict[str, Any]:
        case = inflight.case(fleet, charge.case_id)
        done = case.get("status") == "recovered" and not case["outbox"] and case["claim"] is None
        return case if done and all(_sent(fleet, rid) for rid in mails) else {}

    case: dict[str, Any] = waiting.poll(settled, 60) or inflight.case(fleet, charge.case_id)
    pending = [attempt["outcome"] for attempt in charge.at_kill["attempts"]]
    lines = effects.charges(fleet.stack, [charge.case_id])
    calls = (fleet.stack.log_dir / "processor-sandbox.log").read_text().count("POST /v1/payment_intents")
    ids = [attempt.get("charge_id") for attempt in case.get("attempts", [])]
    receipts = inflight.queued_mentioning(fleet.stack, names.RECEIPT_REQUESTS, charge.case_id)
    got = rig.smtp.handler.received[charge.address]
    rows: list[Row] = [
        (f"charge: attempts when app of {charge.victim} killed", "['pending']", str(pending),
         pending == ["pending"]),
        ("charge: ledger lines (key case:1)", "1", str(sum(lines.values())),
         lines == {f"{charge.case_id}:1": 1}),
        ("charge: calls to the processor (2nd replayed)", ">=2", str(calls), calls >= 2),
        ("case: recovered, outbox empty, unclaimed", "recovered", str(case.get("status")),
         case.get("status") == "recovered" and not case.get("outbox") and case.get("claim") is None),
        ("case: its mails' records 'sent'", "2", str(sum(1 for rid in mails if _sent(fleet, rid))),
         all(_sent(fleet, rid) for rid in mails)),
        ("case: its charge id is the ledger's", "1", str(ids.count(charge.ledger["charge"])),
         ids == [charge.ledger["charge"]]),
        # The outbox is at-least-once (a replica can resend before another clears it): copies are
        # fine as long as they carry one request id, which receipt-render and email-send dedupe on.
        ("case: receipt requests queued, one request id", "1", str(sorted(set(receipts))),
         receipts != [] and set(receipts) == {f"{charge.case_id}:receipt"}),
        ("case: mails (payment_failed, recovered)", "2", str(got), got == 2),
    ]  # fmt: skip
    _report(capsys, rows)


def test_app_killed_mid_send_is_unknown_and_sent_once(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """email-send's app killed while its daprd sends: one mail, never resent, listed as `unknown`."""
    shot, stack = rig.shots["app"], rig.fleet.stack
    rows = _mid_send_rows(rig, "app", {("unknown", 1)})
    record = inflight.email_record(rig.fleet, shot.request_id)
    waited = datetime.fromisoformat(record["updated_at"]) - datetime.fromisoformat(shot.at_kill["updated_at"])
    attempts = kills.attempts(rig, shot)
    listing = inflight.operator_listing(rig.fleet, "unknown")
    listed = {line.split()[0] for line in listing.splitlines()[1:]}
    unexplained = listed - {other.request_id for other in rig.shots.values()}
    consumed = (names.EMAIL_REQUESTS, names.PAYMENT_EVENTS)  # receipt-render does not run here
    left = waiting.poll(lambda: not any(effects.queued(stack)[q] for q in consumed), 30)
    letters = effects.dead_letters(stack)
    dead = [name for name, r in stack.apps.items() if not (r.app.alive() and r.daprd.alive())]
    rows += [
        ("app: 'unknown' only after the grace (s)", f">={GRACE:.0f}", f"{waited.total_seconds():.0f}",
         waited.total_seconds() >= GRACE),
        ("app: logged attempts (5th settles it)", "<=5", str(attempts),
         bool(attempts) and max(attempts) <= 5),
        ("`bindery emails --status unknown` lists it", "yes", "yes" if shot.request_id in listed else "no",
         shot.request_id in listed),
        ("listed unknown with no kill mid-send to explain it", "0", str(len(unexplained)), not unexplained),
        ("dead letters (all work was good)", "0", str(len(letters)), not letters),
        ("email-requests, payment-events drained", "yes", "yes" if left else "no", bool(left)),
        ("apps and sidecars running", str(len(stack.apps)), str(len(stack.apps) - len(dead)), not dead),
    ]  # fmt: skip
    with capsys.disabled():
        print(f"\n$ bindery emails --status unknown  (over PostgreSQL)\n{listing}")  # noqa: T201
    _report(capsys, rows)
