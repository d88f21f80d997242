"""CPU per charge of this process: `StripeGateway` over `DaprStripeTransport` against a bare binding call.

Run by `stripe_charge.py` with `DAPR_GRPC_PORT` set to a daprd that loads only `payment-gateway`:

    python bench/stripe_probe.py measure CHARGES RUNS
    python bench/stripe_probe.py profile CHARGES TOP

`measure` runs the paths `RUNS` rounds, in turns (the first path rotates each round), `CHARGES`
charges a path a round, and prints each round's CPU seconds (`time.process_time`: every thread of
this process, user and system; and `time.thread_time`: the calling thread's alone, gRPC's own
threads left out) and wall seconds per path as JSON. Each charge is a new attempt (its
own idempotency key), so the sandbox charges anew on every path:

- `bare`: `invoke_binding("payment-gateway", "post", body, metadata)` with the body and metadata
  built before the round by the same builder (`stripe.create_payment_intent`): the same bytes on the
  wire, none of the adapter's work;
- `adapter`: `StripeGateway(DaprStripeTransport("payment-gateway")).charge(order)` for a `ChargeOrder`
  made before the round: it builds the form body, headers and key, sends, and reads the answer;
- `transport` (to split the difference): `DaprStripeTransport.send` of `StripeRequest`s built before
  the round: the transport's wrapper around the call, without building or reading.

`profile` times the adapter's steps without a profiler, in the calling thread's CPU µs a charge: in
place (`StripeGateway.charge` spelled out over `CHARGES` charges, the clock read between building
the request, sending it and reading the answer) and alone (building `CHARGES` requests in a tight
loop, reading as many copies of one answer), which shows what the round trips between the steps
cost them (cold caches). Then it runs the adapter path under cProfile with the thread CPU clock and
prints its `TOP` functions by own time, with the share of the whole, as JSON. cProfile's own cost
per call inflates functions called often; the steps' figures are the undistorted ones.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time
from typing import Any

from bindings import client
from functions.common import names, stripe, stripe_answers, stripe_gateway
from functions.common.payments import ChargeOrder, Paid
from functions.common.stripe_gateway import DaprStripeTransport, StripeGateway

_OK = "200"


def _order(path: str, run: int, n: int) -> ChargeOrder:
    case = f"bench-{path}-{run}-{n}"
    return ChargeOrder(
        case_id=case, attempt=1, key=stripe.idempotency_key(case, 1), amount=2900, currency="EUR",
        customer="cus_benchQZr8mK2vT4xLpN", payment_method="pm_benchQZr7wK2vT4xLpNcUe6tGh3k",
    )  # fmt: skip


def _request(order: ChargeOrder) -> tuple[bytes, dict[str, str]]:
    request = stripe.create_payment_intent(
        case_id=order.case_id, attempt=order.attempt, amount=order.amount, currency=order.currency,
        customer=order.customer, payment_method=order.payment_method,
    )  # fmt: skip
    return request.body, request.binding_metadata()


def bare(run: int, charges: int) -> tuple[float, float, float]:
    """CPU and wall seconds for `charges` prebuilt requests through the binding; checks each was a 200."""
    requests = [_request(_order("bare", run, n)) for n in range(charges)]
    dapr = client.shared_client()
    cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
    answers = [dapr.invoke_binding(names.PAYMENT_GATEWAY, "post", body, meta) for body, meta in requests]
    cpu, thread, wall = time.process_time() - cpu, time.thread_time() - thread, time.perf_counter() - wall
    failed = [
        a.binding_metadata.get("statusCode") for a in answers if a.binding_metadata.get("statusCode") != _OK
    ]
    if failed:
        raise RuntimeError(f"bare path: {len(failed)} answers not 200, e.g. {failed[0]}")
    return cpu, thread, wall


def adapter(run: int, charges: int) -> tuple[float, float, float]:
    """CPU and wall seconds for `charges` orders through `StripeGateway`; checks each was `Paid`."""
    orders = [_order("adapter", run, n) for n in range(charges)]
    gateway = StripeGateway(DaprStripeTransport(names.PAYMENT_GATEWAY))
    cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
    outcomes = [gateway.charge(order) for order in orders]
    cpu, thread, wall = time.process_time() - cpu, time.thread_time() - thread, time.perf_counter() - wall
    unpaid = [outcome for outcome in outcomes if not isinstance(outcome, Paid)]
    if unpaid:
        raise RuntimeError(f"adapter path: {len(unpaid)} charges not paid, e.g. {unpaid[0]!r}")
    return cpu, thread, wall


def transport(run: int, charges: int) -> tuple[float, float, float]:
    """CPU and wall seconds for `charges` prebuilt `StripeRequest`s through the transport; each a 200."""
    requests = [stripe_gateway._request(_order("transport", run, n)) for n in range(charges)]  # noqa: SLF001
    sender = DaprStripeTransport(names.PAYMENT_GATEWAY)
    cpu, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
    answers = [sender.send(request) for request in requests]
    cpu, thread, wall = time.process_time() - cpu, time.thread_time() - thread, time.perf_counter() - wall
    failed = [answer.status for answer in answers if answer.status != int(_OK)]
    if failed:
        raise RuntimeError(f"transport path: {len(failed)} answers not 200, e.g. {failed[0]}")
    return cpu, thread, wall


_PATHS = {"bare": bare, "transport": transport, "adapter": adapter}


def measure(charges: int, runs: int) -> dict[str, Any]:
    """Every path `runs` rounds in turns, after a warm-up of each; seconds per round and path."""
    for path in _PATHS.values():
        path(-1, min(charges, 50))  # warm the client, the binding, the imports
    out: dict[str, Any] = {name: {"cpu": [], "thread": [], "wall": []} for name in _PATHS}
    names_ = list(_PATHS)
    for run in range(runs):
        turn = run % len(names_)
        for name in names_[turn:] + names_[:turn]:
            for field, seconds in zip(("cpu", "thread", "wall"), _PATHS[name](run, charges), strict=True):
                out[name][field].append(seconds)
    return out


def steps(charges: int) -> dict[str, float]:
    """CPU µs per charge of the adapter's steps, in place and alone (see the module docstring)."""
    transport = DaprStripeTransport(names.PAYMENT_GATEWAY)
    build = send = read = 0.0
    for order in [_order("steps", 0, n) for n in range(charges)]:  # `StripeGateway.charge`, spelled out
        began = time.thread_time()
        request = stripe_gateway._request(order)  # noqa: SLF001 - the adapter's builder
        request.header("Idempotency-Key")
        built = time.thread_time()
        answer = transport.send(request)
        sent = time.thread_time()
        stripe_answers.read_answer(answer, "payment_intent")
        build, send, read = build + built - began, send + sent - built, read + time.thread_time() - sent
    orders = [_order("alone", 0, n) for n in range(charges)]
    began = time.thread_time()
    for order in orders:
        stripe_gateway._request(order).header("Idempotency-Key")  # noqa: SLF001
    alone_build = time.thread_time() - began
    began = time.thread_time()
    for _ in orders:
        stripe_answers.read_answer(answer, "payment_intent")
    alone_read = time.thread_time() - began
    times = {"build": build, "send": send, "read": read, "alone_build": alone_build, "alone_read": alone_read}
    return {f"{name}_us": seconds * 1e6 / charges for name, seconds in times.items()} | {
        "answer_bytes": len(answer.body)
    }


def profile(charges: int, top: int) -> dict[str, Any]:
    """The adapter's steps, and its `top` functions by own CPU time (this thread's clock) and shares."""
    adapter(-2, min(charges, 50))  # warm
    measured = steps(charges)
    orders = [_order("profile", 0, n) for n in range(charges)]
    gateway = StripeGateway(DaprStripeTransport(names.PAYMENT_GATEWAY))
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for order in orders:
        gateway.charge(order)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (cc, nc, tt, ct, callers)}
    total = sum(row[2] for row in rows.values())
    ranked = sorted(rows.items(), key=lambda item: -item[1][2])[:top]
    return {
        "charges": charges,
        "steps": measured,
        "total_seconds": total,
        "top": [
            {
                "function": _name(key),
                "calls_per_charge": row[1] / charges,
                "own_us_per_charge": row[2] / charges * 1e6,
                "share": row[2] / total,
            }
            for key, row in ranked
        ],
    }


def _name(key: tuple[str, int, str]) -> str:
    file, line, function = key
    if file == "~":
        return function  # a built-in: `<method 'x' of 'y' objects>`
    parts = file.replace("\\", "/").split("/")
    short = "/".join(parts[parts.index("site-packages") + 1 :] if "site-packages" in parts else parts[-2:])
    return f"{short}:{line}({function})"


def main() -> None:
    """`measure CHARGES RUNS` or `profile CHARGES TOP`; prints JSON."""
    command, first, second = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        result = measure(first, second) if command == "measure" else profile(first, second)
    finally:
        client.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
