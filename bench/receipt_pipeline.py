"""The receipt pipeline end to end: receipt-requests -> receipt-render (real daprd) -> Azurite -> email.

Times come from receipt-render's own JSON log ("receipt … stored as …", written after the PDF is
stored and the email request queued, millisecond timestamps) against the moment the bench enqueued
the request, on the same clock. Latency: one request at a time on an idle stack, at the stack's
default queue polling (200 ms). Throughput: a backlog of requests drained by 1, then 3 replicas.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stats import spread

from bindings import names
from bindings.dev.sidecar import AppSpec
from bindings.dev.stack import Stack, StackConfig

if TYPE_CHECKING:
    from pathlib import Path

_STORED = "receipt "  # the pipeline's log line: "receipt <id> stored as <blob> (<n> bytes)"


def _request(tag: str, index: int) -> str:
    return json.dumps({
        "version": 1, "request_id": f"{tag}-{index}:receipt", "payment_id": f"{tag}-{index}",
        "customer_id": f"cus_{index}", "email": f"b{index}@example.com", "amount": 1000 + index,
        "currency": "EUR", "paid_at": datetime.now(UTC).isoformat(), "locale": "de",
    })  # fmt: skip


def _stored(stack: Stack, tag: str) -> dict[str, tuple[float, str]]:
    """Receipt id -> (stored at, epoch seconds; replica) from every replica's log."""
    found: dict[str, tuple[float, str]] = {}
    for path in stack.log_dir.glob(f"{names.RECEIPT_RENDER}*.log"):
        if path.name.endswith("-daprd.log"):
            continue
        for line in path.read_text(errors="replace").splitlines():
            if tag not in line:
                continue
            entry = json.loads(line)
            message = str(entry.get("message", ""))
            if message.startswith(_STORED) and " stored as " in message:
                stamp = datetime.fromisoformat(entry["time"]).timestamp()
                found[message.split()[1]] = (stamp, path.stem)
    return found


def _wait(condition: Any, what: str, timeout: float = 300.0) -> None:  # noqa: ANN401 - a predicate
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"receipt pipeline bench: {what} did not happen in {timeout:.0f}s")
        time.sleep(0.02)


def _latencies(stack: Stack, samples: int) -> list[float]:
    queue = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    tag, out = f"lat{uuid.uuid4().hex[:6]}", []
    for index in range(samples):
        time.sleep(random.uniform(0.05, 0.3))  # do not fall into step with the polling
        sent = time.time()
        queue.send_message(_request(tag, index))
        _wait(lambda i=index: f"{tag}-{i}" in _stored(stack, tag), f"receipt {index}")
        out.append(_stored(stack, tag)[f"{tag}-{index}"][0] - sent)
    return out


def _throughput(stack: Stack, count: int) -> dict[str, Any]:
    queue = stack.queue_service().get_queue_client(names.RECEIPT_REQUESTS)
    tag = f"tp{uuid.uuid4().hex[:6]}"
    for index in range(count):
        queue.send_message(_request(tag, index))
    _wait(lambda: len(_stored(stack, tag)) >= count, f"{count} receipts")
    stored = _stored(stack, tag)
    stamps = sorted(stamp for stamp, _ in stored.values())
    per_replica: dict[str, int] = {}
    for _, replica in stored.values():
        per_replica[replica] = per_replica.get(replica, 0) + 1
    return {
        "count": count,
        "per_second": (count - 1) / (stamps[-1] - stamps[0]),
        "per_replica": dict(sorted(per_replica.items())),
    }


def measure(root: Path, *, samples: int = 40, count: int = 300) -> dict[str, Any]:
    """Latency p50 on an idle stack, and receipts per second drained by 1 and by 3 replicas."""
    spec = AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app", instance="r0")
    with Stack(StackConfig(root=root, apps=[spec])) as stack:
        _latencies(stack, 3)  # fonts loaded, clients connected
        latency = spread(_latencies(stack, samples))
        one = _throughput(stack, count)
        for instance in ("r1", "r2"):
            stack.start_app(AppSpec(names.RECEIPT_RENDER, "functions.receipt_render.app", instance=instance))
        _throughput(stack, 9)  # warm the new replicas
        three = _throughput(stack, count)
        polling = stack.values()["QUEUE_POLLING_INTERVAL"]
    return {
        "polling": polling,
        "latency_seconds": latency,
        "samples": samples,
        "throughput": {"1": one, "3": three},
    }


LATENCY_GOAL, RATE_GOAL = 0.5, 40.0  # seconds at p50; receipts a second on 2 cores


def lines(r: dict[str, Any]) -> list[str]:
    """BENCHMARKS.md rows: latency against its goal, receipts a second with 1 and 3 replicas."""
    latency, best = r["latency_seconds"], max(row["per_second"] for row in r["throughput"].values())
    low, mid, high = (latency[key] * 1000 for key in ("min", "median", "max"))
    rows = [
        "### Receipt pipeline end to end",
        "",
        "A receipt request on `receipt-requests` until receipt-render (real daprd, Azurite) has stored the",
        "PDF and queued the email request with its link, timed from receipt-render's own log against the",
        f"moment the request was enqueued. Queue polling {r['polling']} (the stack's default).",
        "",
        "| measure | figure | goal | |",
        "|---|---|---|---|",
        (
            f"| latency, one request at a time ({r['samples']} requests) "
            f"| p50 {mid:.0f} ms ({low:.0f}–{high:.0f}) "
            f"| ≤ {LATENCY_GOAL * 1000:.0f} ms | {'met' if latency['median'] <= LATENCY_GOAL else 'missed'} |"
        ),
    ]
    for replicas, row in r["throughput"].items():
        spread_text = ", ".join(str(count) for count in row["per_replica"].values())
        rows.append(
            f"| throughput, backlog of {row['count']}, {replicas} replica(s) ({spread_text}) "
            f"| {row['per_second']:.1f} receipts/s | ≥ {RATE_GOAL:.0f}/s | "
            f"{'met' if row['per_second'] >= RATE_GOAL else 'missed'} |"
        )
    if best < RATE_GOAL:
        rows += [
            "",
            "The throughput goal is missed. Rendering is no longer the cause (a few milliseconds a",
            "receipt, see above, since fonts are embedded by copying glyphs); the storage-queue binding",
            "hands a sidecar one message at a time, and the rest of each receipt's time (storing the PDF,",
            "queueing the email through daprd and Azurite, on the same two cores) is not broken down here.",
        ]
    return [*rows, ""]


if __name__ == "__main__":
    import sys

    from bindings.dev.paths import var_dir

    result = measure(var_dir() / "bench" / "receipts", samples=int(sys.argv[1]) if len(sys.argv) > 1 else 40)
    print(json.dumps(result, indent=2))
