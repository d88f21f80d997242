"""Verified Stripe events per second through the stripe-webhook intake, against its own health answer.

The local stack runs the intake alone (Azurite, the sandboxes, the intake behind its daprd with its own
two components: `payment-events-out`, writing to Azurite's `payment-events` queue, which nothing
consumes, and `payment-gateway`). Each
event is a `payment_intent.payment_failed` of a subscription's PaymentIntent, rendered and signed as
the processor sandbox renders and signs them (`processor_stripe.payment_intent`,
`processor_webhooks.event` and `signature`), signed just before its round: the intake verifies it with
the official `stripe` package, maps it and enqueues it through daprd before answering 200. The
baseline is the same app process answering `GET /healthz` (204, no body, no verification, no queue):
the HTTP server's own cost. `clients` threads post in parallel, a new connection a request (the server
speaks HTTP/1.0); rounds alternate the two. CPU is the intake's (and its daprd's) user+system time
from /proc over the round, divided by the requests.
"""

from __future__ import annotations

import http.client
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework import proc_cpu
from stats import spread

from functions.common import names
from tooling.paths import project_root
from tooling.sandboxes import processor_stripe, processor_webhooks
from tooling.stack import DEMO_APPS, Stack, StackConfig

if TYPE_CHECKING:
    from tooling.sidecar import RunningApp

SIGNATURE_HEADER = "Stripe-Signature"  # functions.stripe_webhook.verify's (not imported: it loads stripe)
_COMPONENTS = ("payment-events-out.yaml", "payment-gateway.yaml")  # its queue out, its decline look-ups
_PATHS = {"event": ("POST", "/stripe/events", 200), "health": ("GET", "/healthz", 204)}


def _event(secret: str, run: int, n: int) -> tuple[bytes, dict[str, str]]:
    """One signed `payment_intent.payment_failed` (body, headers), as the sandbox would post it."""
    intent = processor_stripe.Intent(
        amount=2900, currency="eur", customer=f"cus_bench{n}", payment_method=f"pm_bench{n}",
        case_id="", attempt=1,
    )  # fmt: skip
    metadata = {"bindery_subscription": f"sub_bench{run}x{n}"}
    obj = processor_stripe.payment_intent(
        intent, f"pi_bench{run}x{n}", f"ch_bench{run}x{n}", "soft", metadata
    )
    obj["receipt_email"] = f"bench-{n}@example.com"
    body = json.dumps(processor_webhooks.event("payment_intent.payment_failed", obj)).encode()
    signed = processor_webhooks.signature(secret, body, int(time.time()))
    return body, {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signed}


def _send(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def _round(
    running: RunningApp, kind: str, requests: list[tuple[bytes | None, dict[str, str]]], clients: int
) -> dict[str, float]:
    method, path, expected = _PATHS[kind]
    port, app, sidecar = running.ports.app, running.app.popen.pid, running.daprd.popen.pid
    app_cpu, daprd_cpu = proc_cpu(Path(f"/proc/{app}/stat"))[1], proc_cpu(Path(f"/proc/{sidecar}/stat"))[1]
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(lambda r: _send(port, method, path, *r), requests))
    wall = time.perf_counter() - began
    app_cpu = proc_cpu(Path(f"/proc/{app}/stat"))[1] - app_cpu
    daprd_cpu = proc_cpu(Path(f"/proc/{sidecar}/stat"))[1] - daprd_cpu
    wrong = [status for status in statuses if status != expected]
    if wrong:
        raise RuntimeError(
            f"{kind}: {len(wrong)} of {len(statuses)} answered other than {expected}: {wrong[:5]}"
        )
    count = len(requests)
    return {
        "per_second": count / wall,
        "app_ms": app_cpu / count * 1000,
        "daprd_ms": daprd_cpu / count * 1000,
    }


def measure(work: Path, *, events: int = 2000, runs: int = 5, clients: int = 4) -> dict[str, Any]:
    """Events (and health answers) per second and CPU ms per request, medians of `runs` rounds in turns."""
    shutil.rmtree(work, ignore_errors=True)
    source = work / "source"  # the intake's own components only: the stack's others are not its cost
    source.mkdir(parents=True)
    for name in _COMPONENTS:
        shutil.copy(project_root() / "components" / "local" / name, source)
    spec = next(spec for spec in DEMO_APPS if spec.app_id == names.STRIPE_WEBHOOK)
    rounds: dict[str, list[dict[str, float]]] = {kind: [] for kind in _PATHS}
    with Stack(StackConfig(root=work / "stack", apps=[spec], components=source)) as stack:
        running, secret = stack.apps[names.STRIPE_WEBHOOK], stack.stripe_webhook_secret
        warm = [_event(secret, -1, n) for n in range(min(events, 50))]
        _round(running, "event", list(warm), clients)  # the Dapr client, the queue binding, the imports
        for run in range(runs):
            kinds = list(_PATHS)
            for kind in kinds[run % 2 :] + kinds[: run % 2]:
                requests: list[tuple[bytes | None, dict[str, str]]] = (
                    [_event(secret, run, n) for n in range(events)]
                    if kind == "event"
                    else [(None, {})] * events
                )
                rounds[kind].append(_round(running, kind, requests, clients))
        queue = stack.queue_service().get_queue_client(names.PAYMENT_EVENTS)
        queued = queue.get_queue_properties().approximate_message_count
    if queued != len(warm) + runs * events:
        raise RuntimeError(f"payment-events holds {queued} messages, expected {len(warm) + runs * events}")
    out: dict[str, Any] = {"events": events, "runs": runs, "clients": clients, "queued": queued}
    for kind, figures in rounds.items():
        out[kind] = {
            field: spread([row[field] for row in figures]) for field in ("per_second", "app_ms", "daprd_ms")
        }
    return out
