"""The fault run's invariants: every good message took effect exactly once, and nothing else happened."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from functions.common import names
from tests.reliability import effects
from tests.reliability.fleet import Fleet
from tests.reliability.report import Row
from tests.reliability.workload import Sent


@dataclass
class Probes:
    """What the hostile requests (forged webhooks, bad tokens) must and must not have caused."""

    rows: list[Row] = field(default_factory=list)  # checked on the spot (status codes)
    no_mail: list[str] = field(default_factory=list)  # addresses a refused request named
    one_mail: list[str] = field(default_factory=list)  # addresses of the accepted control requests
    no_timeline: list[str] = field(default_factory=list)  # request ids of refused webhook batches
    replayed: dict[str, list[str]] = field(default_factory=dict)  # request id -> its events, once each


def check(fleet: Fleet, sent: Sent, probes: Probes, mailbox: effects.Mailbox, visibility: float) -> list[Row]:
    """Every invariant of the run as table rows."""
    stack = fleet.stack
    payment_sidecar = fleet.replicas[names.PAYMENT_RETRY][0]
    email_sidecar = fleet.replicas[names.EMAIL_SEND][0]
    rows: list[Row] = []
    n = len(sent.payments)
    counted = effects.charges(stack, sent.payments)
    once = counted == Counter({f"{case}:1": 1 for case in sent.payments})
    rows.append(("payment-events: one charge per payment (ledger)", str(n), str(sum(counted.values())), once))
    cases = effects.state(stack, payment_sidecar, names.STATESTORE, [f"case:{c}" for c in sent.payments])
    done = sum(1 for case in cases.values() if case["status"] == "recovered" and not case["outbox"])
    rows.append(("payment-events: case recovered, outbox empty (state)", str(n), str(done), done == n))
    requests = [rid for by_address in sent.mails.values() for rids in by_address.values() for rid in rids]
    records = effects.state(stack, email_sidecar, names.EMAIL_STATE, [f"email:{rid}" for rid in requests])
    status = Counter(str(records.get(f"email:{rid}", {}).get("status", "missing")) for rid in requests)
    rows.append(
        ("email-state: every request recorded 'sent'", str(len(requests)), str(status["sent"]),
         status["sent"] + status["unknown"] == len(requests))
    )  # fmt: skip
    mid_send = sum(1 for name, _half, _took in fleet.kills if name.startswith(names.EMAIL_SEND))
    rows.append(
        ("email-state: 'unknown' (email-send killed mid-send)", f"<={mid_send}", str(status["unknown"]),
         status["unknown"] <= mid_send)
    )  # fmt: skip
    counts = mailbox.counts()
    for kind, by_address in sent.mails.items():
        rows.append(_mails(kind, by_address, counts, records))
    rows += _documents(effects.documents(stack), sent)
    rows.append(_timelines(fleet, {**sent.batches, **probes.replayed}, "webhook: timeline, each event once"))
    refused = effects.state(
        stack, email_sidecar, names.EMAIL_STATE, [f"timeline:{r}" for r in probes.no_timeline]
    )
    rows.append(("webhook: refused batches left no timeline", "0", str(len(refused)), not refused))
    silent = sum(counts[address] for address in probes.no_mail)
    rows.append(("tokens: refused calls sent no mail", "0", str(silent), silent == 0))
    control = [counts[address] for address in probes.one_mail]
    rows.append(("tokens: accepted control calls, one mail each", str(len(control)), str(sum(control)),
                 control == [1] * len(probes.one_mail)))  # fmt: skip
    rows += probes.rows
    letters = effects.dead_letters(stack)
    rows.append(("dead letters (all work was good)", "0", str(len(letters)), not letters))
    left = sum(effects.queued(stack).values())
    rows.append(("input queues drained", "0", str(left), left == 0))
    rows += _faults(fleet, sent)
    rows += _redeliveries(fleet, visibility)
    return rows


def _mails(
    kind: str, by_address: dict[str, list[str]], counts: Counter[str], records: dict[str, dict[str, str]]
) -> Row:
    """One mail per request; a missing one is only excused by an 'unknown' record (at most once)."""
    duplicates = unexplained = 0
    for address, rids in by_address.items():
        unknown = sum(1 for rid in rids if records.get(f"email:{rid}", {}).get("status") == "unknown")
        duplicates += max(0, counts[address] - len(rids))
        unexplained += max(0, len(rids) - counts[address] - unknown)
    expected = sum(len(rids) for rids in by_address.values())
    got = sum(min(counts[address], len(rids)) for address, rids in by_address.items()) + duplicates
    return (
        f"{kind}: one mail per request (capture)",
        str(expected),
        str(got),
        not duplicates and not unexplained,
    )


def _documents(found: Counter[str], sent: Sent) -> list[Row]:
    """One PDF per receipt, payment and order, and no PDF nobody asked for."""
    rows = []
    for kind, wanted in sent.pdfs.items():
        if wanted:
            exact = all(found[name] == 1 for name in wanted)
            rows.append(
                (
                    f"{kind}: one PDF each (blob store)",
                    str(len(wanted)),
                    str(sum(found[n] for n in wanted)),
                    exact,
                )
            )
    expected = {name for wanted in sent.pdfs.values() for name in wanted}
    extra = sum(count for name, count in found.items() if name not in expected)
    rows.append(("documents: no PDF nobody asked for", "0", str(extra), extra == 0))
    return rows


def _timelines(fleet: Fleet, batches: dict[str, list[str]], name: str) -> Row:
    """Each batch's events on its request's timeline, each once, and nothing else there."""
    sidecar = fleet.replicas[names.EMAIL_EVENTS][0]
    found = effects.state(fleet.stack, sidecar, names.EMAIL_STATE, [f"timeline:{rid}" for rid in batches])
    exact = sum(
        1
        for rid, events in batches.items()
        if sorted(entry["sg_event_id"] for entry in found.get(f"timeline:{rid}", {}).get("entries", ()))
        == sorted(events)
    )
    return (name, str(len(batches)), str(exact), exact == len(batches))


def _faults(fleet: Fleet, sent: Sent) -> list[Row]:
    """The faults were all injected, and every process (restarted or never touched) is running."""
    halves = Counter(half for _name, half, _took in fleet.kills)
    slowest = max((took for *_, took in fleet.kills), default=0.0)
    rows: list[Row] = [
        ("kill -9 and restart: app / daprd", "5 / 5", f"{halves['app']} / {halves['daprd']}",
         halves == Counter(app=5, daprd=5)),
        ("kill -9: slowest restart to ready (s)", "<30", f"{slowest:.1f}", slowest < 30),
    ]  # fmt: skip
    for service, (planned, took) in fleet.outages.items():
        rows.append((f"{service} down, then back (s)", f">={planned:.0f}", f"{took:.1f}", took >= planned))
    rows.append(("outages: azurite, smtp, postgres", "3", str(len(fleet.outages)), len(fleet.outages) == 3))
    dead = [name for name, running in fleet.stack.apps.items() if not running.app.alive()]
    dead += [f"{name}-daprd" for name, running in fleet.stack.apps.items() if not running.daprd.alive()]
    dead += [proc.name for proc in fleet.services() if not proc.alive()]
    total = 2 * len(fleet.stack.apps) + len(fleet.services())
    rows.append(
        ("processes running (apps, sidecars, services)", str(total), str(total - len(dead)), not dead)
    )
    rows.append(("feeder: messages given up on", "0", str(len(sent.gave_up)), not sent.gave_up))
    return rows


def _redeliveries(fleet: Fleet, visibility: float) -> list[Row]:
    """The faults reached work in flight, which came back one visibility timeout later, short of dead letters.

    Gaps are measured between the attempts' starts (a log line's time less the `seconds` it reports),
    to a second: the message is received a little before its handler starts.
    """
    reasons, seen = effects.attempts(fleet.stack.log_dir)
    smtp = sum(1 for reason in reasons if "smtp binding" in reason)
    state = sum(1 for reason in reasons if "state store" in reason)
    ticks = sum(
        path.read_text(errors="replace").count("cron handler failed")
        for path in fleet.stack.log_dir.glob(f"{names.PAYMENT_RETRY}-r?.log")
    )
    highest = max((attempt for runs in seen.values() for _at, attempt in runs), default=0)
    gaps = [
        (later[0] - earlier[0]).total_seconds()
        for runs in seen.values()
        for earlier, later in zip(sorted(runs), sorted(runs)[1:], strict=False)
    ]
    shortest = min(gaps, default=visibility)
    return [
        ("SMTP outage: email-send attempts failed, redelivered", ">0", str(smtp), smtp > 0),
        ("PostgreSQL restart: attempts and ticks failed", ">0", str(state + ticks), state + ticks > 0),
        ("highest attempt reached (the 5th fails to dead letter)", "<=5", str(highest), highest <= 5),
        ("shortest gap between attempts of one message (s)", f">={visibility - 1:.0f}", f"{shortest:.1f}",
         shortest >= visibility - 1),
    ]  # fmt: skip
