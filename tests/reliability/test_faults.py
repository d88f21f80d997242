"""Faults while good work flows: 3 replicas of each app on PostgreSQL, kills, outages, forgeries, tokens.

One module-scoped run. A feeder keeps good work on every input queue and the webhook; meanwhile an
app process or a daprd is `kill -9`ed and restarted ten times (alternately), Azurite and the SMTP
capture are each down for 30 s, and PostgreSQL is restarted. Forged and replayed webhooks and calls
with missing or wrong API tokens go in alongside. The run ends with a table of invariants read from
the sandbox ledger, the mail capture, the state store, the blob store and the dead letters.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import grpc
import pytest
from dapr.proto import appcallback_service_v1, appcallback_v1

from functions.common import names
from functions.email_webhook.verify import SIGNATURE_HEADER
from tests.integration.helpers import post_webhook
from tests.reliability import effects, goods
from tests.reliability.fleet import Fleet, Half, start_fleet
from tests.reliability.invariants import Probes, check
from tests.reliability.report import table
from tests.reliability.workload import Feeder
from tooling import deadletters, webhook_keys
from tooling.stack import Stack

# Timing, chosen together. A message whose handling fails is invisible for QUEUE_VISIBILITY_TIMEOUT,
# then redelivered with dequeueCount + 1, and dead-lettered when the 5th attempt fails
# (bindings/poison.py DEFAULT_MAX_ATTEMPTS). Its five attempts therefore span at least 4 x 16 = 64 s:
# more than twice an outage here (30 s), so an outage costs a message at most two attempts, and
# more than email-send's 60 s "sending" grace, so a request whose process died mid-send is settled as
# `unknown` (documented at-most-once), not dead-lettered as exhausted. Longer would only slow the
# recovery from kills (a message taken by a killed process comes back after the timeout).
# Attempts lost to different faults add up on one message, so the faults that cost attempts are kept
# apart: PostgreSQL first (one attempt), then Azurite (nothing is dequeued while it is down; the
# work in flight loses one attempt), the SMTP outage last (two). A kill costs the message in flight
# one, and a duplicate from dunning's outbox handled concurrently one more: at most four of five.
# email-send is killed well before the SMTP outage: killed right after it, a message was seen to
# need its 4th attempt.
# Polling at 250 ms keeps 15 idle pollers cheap for Azurite on 2 cores.
VISIBILITY = 16.0
VALUES = {
    "QUEUE_POLLING_INTERVAL": "250ms",
    "QUEUE_VISIBILITY_TIMEOUT": f"{VISIBILITY:.0f}s",
    "RETRY_TICK_SCHEDULE": "@every 1s",
}
# Ticks every second with a budget under it; a crashed replica's claimed case is taken over in 10 s.
RETRY_ENV = {"RETRY_TICK_BUDGET_SECONDS": "0.8", "RETRY_LEASE_SECONDS": "10"}
OUTAGE, ROUND, GAP = 30.0, 1.0, 3.0  # seconds: a service down, between work rounds, between faults
SETTLE, STILL = 240.0, 30.0  # seconds: the most the checks wait for work to finish; mail silence
KILLS: list[tuple[str, int, Half]] = [  # each app id loses its app once and its daprd once
    (names.PAYMENT_RETRY, 0, "app"), (names.EMAIL_SEND, 1, "daprd"),  # then PostgreSQL
    (names.EMAIL_SEND, 2, "app"), (names.EMAIL_EVENTS, 0, "daprd"),  # then Azurite
    (names.RECEIPT_RENDER, 2, "app"), (names.PAYMENT_RETRY, 1, "daprd"),  # then SMTP
    (names.EMAIL_WEBHOOK, 0, "app"), (names.RECEIPT_RENDER, 0, "daprd"), (names.EMAIL_EVENTS, 1, "app"),
    (names.EMAIL_WEBHOOK, 0, "daprd"),
]  # fmt: skip
PROBES = Probes()


@pytest.fixture(scope="module")
def fleet(stack_factory: Callable[..., Stack], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Three replicas of each queue or cron app and one webhook, sharing PostgreSQL."""
    fleet = start_fleet(stack_factory, tmp_path_factory.mktemp("faults"), VALUES, RETRY_ENV)
    yield fleet
    fleet.stack.stop()
    fleet.database.stop()


@pytest.fixture(scope="module")
def feeder(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feeder]:
    """Good work on every input queue, a round every ROUND seconds, from the first fault to the checks."""
    feeder = Feeder(fleet.stack, tmp_path_factory.mktemp("orders"), ROUND)
    feeder.start()
    yield feeder
    feeder.stop()


def test_work_flows_through_kills_and_outages(fleet: Fleet, feeder: Feeder) -> None:
    """Ten kill -9s (app, daprd, alternately), Azurite and SMTP down 30 s each, PostgreSQL restarted."""
    stack = fleet.stack
    assert stack.azurite is not None
    kills = iter(KILLS)

    def kill(count: int) -> None:
        for app_id, index, half in (next(kills) for _ in range(count)):
            fleet.kill(fleet.running(app_id, index), half)
            time.sleep(GAP)

    time.sleep(3 * ROUND)  # work under way first
    kill(2)
    fleet.outage("postgres", fleet.database.proc, 3.0, (fleet.database.port,))
    time.sleep(GAP)
    kill(2)
    fleet.outage("azurite", stack.azurite.proc, OUTAGE, (stack.azurite.blob_port, stack.azurite.queue_port))
    time.sleep(GAP)
    kill(2)
    fleet.outage("smtp", fleet.smtp(), OUTAGE, (stack.smtp_port,))
    time.sleep(GAP)
    kill(4)
    assert len(fleet.kills) == len(KILLS)
    assert feeder.is_alive()


def test_forged_stale_and_unsigned_webhooks_are_refused_and_a_replay_is_accepted(fleet: Fleet) -> None:
    """Forged, altered and stale posts get 403, unsigned 401, garbage 400; a replay gets 204 three times."""
    stack = fleet.stack
    key = webhook_keys.load_or_create(stack.webhook_key)
    attacker = webhook_keys.load_or_create(stack.config.root / "run" / "attacker.pem")

    def body(label: str) -> bytes:
        rid = f"{label}-{goods.TAG}"
        PROBES.no_timeline.append(rid)
        event = {"email": f"{rid}@example.com", "timestamp": int(time.time()), "event": "delivered",
                 "sg_event_id": f"sg-{rid}", "request_id": rid}  # fmt: skip
        return webhook_keys.batch([event])

    forged, altered, stale, unsigned, garbage = (
        body(x) for x in ("forged", "altered", "stale", "unsigned", "bad")
    )
    codes = [
        post_webhook(stack, forged, webhook_keys.signed_headers(attacker, forged)),
        post_webhook(
            stack, altered.replace(b"delivered", b"open"), webhook_keys.signed_headers(key, altered)
        ),
        post_webhook(stack, stale, webhook_keys.signed_headers(key, stale, str(int(time.time()) - 3600))),
        post_webhook(stack, unsigned, {"Content-Type": "application/json"}),
        post_webhook(
            stack,
            garbage,
            {**webhook_keys.signed_headers(key, garbage), SIGNATURE_HEADER: "%%%not-base64%%%"},
        ),
    ]
    want = [403, 403, 403, 401, 400]
    PROBES.rows.append(("webhook: forged/altered/stale/unsigned/garbage", "/".join(map(str, want)),
                        "/".join(map(str, codes)), codes == want))  # fmt: skip
    rid = f"replay-{goods.TAG}"
    events = [{"email": f"{rid}@example.com", "timestamp": int(time.time()) + n, "event": kind,
               "sg_event_id": f"sg-{rid}-{kind}", "request_id": rid}
              for n, kind in enumerate(("processed", "delivered", "open"))]  # fmt: skip
    replay = webhook_keys.batch(events)
    headers = webhook_keys.signed_headers(key, replay)
    again = [post_webhook(stack, replay, headers) for _ in range(3)]
    PROBES.replayed[rid] = [str(event["sg_event_id"]) for event in events]
    PROBES.rows.append(("webhook: one signed batch posted 3 times", "204 x3", "/".join(map(str, again)),
                        again == [204] * 3))  # fmt: skip
    assert codes == want
    assert again == [204] * 3


def _on_binding_event(fleet: Fleet, label: str, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    """Call email-send r0's OnBindingEvent directly, as daprd would, with a good request for `label`."""
    address = f"{label}-{goods.TAG}@example.com"
    request = {**goods.email(0), "request_id": f"{label}-{goods.TAG}", "to": address}
    call = appcallback_v1.BindingEventRequest(
        name=names.EMAIL_REQUESTS, data=json.dumps(request).encode(), metadata={"dequeueCount": "1"}
    )
    port = fleet.running(names.EMAIL_SEND).ports.app
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = appcallback_service_v1.AppCallbackStub(channel)  # type: ignore[no-untyped-call]
        try:
            stub.OnBindingEvent(call, metadata=metadata, timeout=15)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def _output_binding(fleet: Fleet, label: str, token: str | None) -> int:
    """Ask receipt-render r0's daprd to queue a good email request for `label`; the HTTP status."""
    address = f"{label}-{goods.TAG}@example.com"
    request = {**goods.email(0), "request_id": f"{label}-{goods.TAG}", "to": address}
    port = fleet.running(names.RECEIPT_RENDER).ports.http
    headers = {"Content-Type": "application/json", **({"dapr-api-token": token} if token is not None else {})}
    call = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1.0/bindings/{names.EMAIL_REQUESTS_OUT}",
        data=json.dumps({"operation": "create", "data": request}).encode(), headers=headers, method="POST",
    )  # fmt: skip
    try:
        with urllib.request.urlopen(call, timeout=15) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_calls_without_the_right_api_token_are_refused_and_do_nothing(fleet: Fleet) -> None:
    """App gRPC and daprd HTTP calls with a missing or wrong token are refused; with the token they work."""
    token, dapr_token = fleet.stack.app_token, fleet.stack.dapr_token
    assert token is not None
    assert dapr_token is not None
    grpc_codes = [
        _on_binding_event(fleet, "grpc-missing", ()),
        _on_binding_event(fleet, "grpc-wrong", (("dapr-api-token", "wrong"),)),
        _on_binding_event(fleet, "grpc-right", (("dapr-api-token", token),)),
    ]
    http_codes = [
        _output_binding(fleet, "http-missing", None),
        _output_binding(fleet, "http-wrong", "wrong"),
        _output_binding(fleet, "http-right", dapr_token),
    ]
    PROBES.no_mail += [f"{label}-{goods.TAG}@example.com" for label in ("grpc-missing", "grpc-wrong")]
    PROBES.no_mail += [f"{label}-{goods.TAG}@example.com" for label in ("http-missing", "http-wrong")]
    PROBES.one_mail += [f"{label}-{goods.TAG}@example.com" for label in ("grpc-right", "http-right")]
    denied = grpc.StatusCode.PERMISSION_DENIED
    grpc_ok = grpc_codes == [denied, denied, grpc.StatusCode.OK]
    PROBES.rows.append(("tokens: app gRPC missing/wrong/right", "refused x2, ok",
                        "/".join(code.name for code in grpc_codes), grpc_ok))  # fmt: skip
    http_ok = http_codes[:2] == [401, 401] and http_codes[2] in {200, 204}
    PROBES.rows.append(("tokens: daprd HTTP missing/wrong/right", "401/401/2xx",
                        "/".join(map(str, http_codes)), http_ok))  # fmt: skip
    assert grpc_ok, grpc_codes
    assert http_ok, http_codes


def test_every_good_message_took_effect_exactly_once(
    fleet: Fleet, feeder: Feeder, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the faults: 0 lost, 0 duplicated, no dead letters, every process running; prints the table."""
    feeder.stop()
    mailbox = effects.Mailbox(fleet.stack.mail_dir)
    drained = _settle(fleet, feeder, mailbox)
    rows = check(fleet, feeder.sent, PROBES, mailbox, VISIBILITY)
    rows.append(("settled after the last fault (s)", f"<{SETTLE:.0f}", f"{drained:.0f}", drained < SETTLE))
    letters = effects.dead_letters(fleet.stack)
    with capsys.disabled():
        print(f"\n{len(feeder.sent.payments)} rounds, {feeder.sent.retries} producer retries")  # noqa: T201
        print(table(rows))  # noqa: T201 - the suite's report
        if letters:
            print(deadletters.table(letters))  # noqa: T201
    assert all(ok for *_, ok in rows), table(rows)


def _settle(fleet: Fleet, feeder: Feeder, mailbox: effects.Mailbox) -> float:
    """Wait until the queues are empty, every payment is charged and every mail arrived (or mails stop).

    Mails can legitimately stay missing (`unknown` sends), so the wait also ends once the queues are
    empty, the charges complete and no mail has arrived for STILL seconds. Returns the seconds waited.
    """
    started = time.monotonic()
    wanted = sum(len(rids) for by in feeder.sent.mails.values() for rids in by.values()) + len(
        PROBES.one_mail
    )
    last, changed = -1, started
    while (now := time.monotonic()) - started < SETTLE:
        mails = sum(mailbox.counts().values())
        last, changed = (mails, now) if mails != last else (last, changed)
        idle = not any(effects.queued(fleet.stack).values())
        charged = len(effects.charges(fleet.stack, feeder.sent.payments)) >= len(feeder.sent.payments)
        if idle and charged and (mails >= wanted or now - changed > STILL):
            time.sleep(3)  # a last redelivery in flight would show up as a duplicate now
            return now - started
        time.sleep(1)
    return time.monotonic() - started
