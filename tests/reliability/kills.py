"""Kills timed inside a handler: mid-send (the SMTP reply held) and mid-charge (the processor stalling).

Each injector starts the work, waits until it is in flight, finds the replica doing it (the daprd
at the other end of the held SMTP session; the app whose pid is in the case's claim), `kill -9`s
the chosen half (`Fleet.kill` restarts it on the same ports) and records what the state said then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.common import names
from tests.integration.helpers import midday_zone, read_jsonl
from tests.reliability import effects, goods, inflight
from tests.reliability.fleet import Fleet, Half
from tests.reliability.held_smtp import HeldSmtp, Hold, Stage, socket_owner
from tooling import waiting


@dataclass
class Shot:
    """One kill mid-send: the request, where its send was held, whom the kill hit, and when."""

    request_id: str
    message_id: str  # the queue message's id, as the apps log it
    hold: Hold
    victim: str
    half: Half
    at_kill: dict[str, Any]  # the send record when the kill landed
    killed_at: float = field(default_factory=time.monotonic)


@dataclass
class Charge:
    """The kill mid-charge: the case, its customer's address, the case and ledger line at the kill."""

    case_id: str
    address: str
    at_kill: dict[str, Any]
    ledger: dict[str, Any]
    victim: str


@dataclass
class Rig:
    """The fleet, the holding SMTP capture, and the kills injected."""

    fleet: Fleet
    smtp: HeldSmtp
    shots: dict[str, Shot] = field(default_factory=dict)
    charges: list[Charge] = field(default_factory=list)


def kill_mid_send(rig: Rig, label: str, stage: Stage, half: Half) -> Shot:
    """Queue a request, hold its send at `stage`, kill -9 `half` of the replica sending it, release."""
    rid = f"kif-{label}-{goods.TAG}"
    hold = rig.smtp.handler.hold(f"{rid}@example.com", stage)
    request = {**goods.email(0), "request_id": rid, "to": hold.address}
    message_id = inflight.enqueue(rig.fleet.stack, names.EMAIL_REQUESTS, request)
    assert hold.arrived.wait(60), f"{rid}: its mail never reached the SMTP capture"
    victim = socket_owner(hold.peer_port, inflight.by_pid(rig.fleet, names.EMAIL_SEND, "daprd"))
    assert victim is not None, f"{rid}: no email-send daprd owns SMTP port {hold.peer_port}"
    shot = Shot(rid, message_id, hold, victim.spec.name, half, inflight.email_record(rig.fleet, rid))
    rig.fleet.kill(victim, half)
    hold.release.set()
    return shot


def kill_mid_charge(rig: Rig) -> Charge:
    """Open a case the sandbox stalls on, kill -9 the app holding its claim once the ledger shows it."""
    # A `cus_timeout_` customer's charge is written to the ledger, then answered 5 s later.
    customer = f"cus_timeout_kif{goods.TAG}"
    payment = {**goods.payment(0), "event_id": f"evt_{customer}", "payment_id": f"pay_{customer}",
               "customer_id": customer, "subscription_id": f"sub_{customer}",
               "email": f"{customer}@example.com", "timezone": midday_zone(datetime.now(UTC))}  # fmt: skip
    case_id, stack = str(payment["payment_id"]), rig.fleet.stack
    inflight.enqueue(stack, names.PAYMENT_EVENTS, payment)
    lines = waiting.poll(
        lambda: [line for line in read_jsonl(stack.ledger) if line["case_id"] == case_id], 60, every=0.05
    )
    assert lines, f"{case_id}: never charged"
    at_kill = inflight.case(rig.fleet, case_id)
    owner = int(str(at_kill["claim"]["owner"]).split(":")[1])  # host:pid:nonce (payment_retry/app.py)
    victim = inflight.by_pid(rig.fleet, names.PAYMENT_RETRY, "app").get(owner)
    assert victim is not None, f"{case_id}: claimed by pid {owner}, no payment-retry app of this fleet"
    rig.fleet.kill(victim, "app")
    return Charge(case_id, str(payment["email"]), at_kill, lines[0], victim.spec.name)


def settled(rig: Rig, shot: Shot, timeout: float) -> dict[str, Any]:
    """The send record once final (`sent` or `unknown`; `timeout` s after the kill at most), then 3 s on."""

    def final() -> dict[str, Any]:
        record = inflight.email_record(rig.fleet, shot.request_id)
        return record if record.get("status") in {"sent", "unknown"} else {}

    waiting.poll(final, timeout - (time.monotonic() - shot.killed_at))
    time.sleep(3)  # a resend already under way would be captured by now
    return inflight.email_record(rig.fleet, shot.request_id)


def attempts(rig: Rig, shot: Shot) -> list[int]:
    """The attempts of the shot's message that reached a handler and logged (the killed one cannot)."""
    _reasons, seen = effects.attempts(rig.fleet.stack.log_dir)
    return sorted(attempt for _at, attempt in seen.get(shot.message_id, []))
