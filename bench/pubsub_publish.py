"""What publishing its domain event costs email-send: CPU per handled request with and without it.

The stack of components/local runs email-send behind its daprd (SMTP through the `email` binding to
the stack's capture, records in `email-state`, events on `domain-events`), started anew for each round
of each variant (`apps/email_send_variant.py`): the app as it is; its publisher a no-op (`no-publish`:
the record is read back and the event built, not sent); no publication at all (`no-event`). A round
enqueues `messages` EmailRequested on `email-requests` after a warm-up of `warm`, and ends when the
queue is empty (daprd deletes a message once the app has handled it). CPU: user+system time from
/proc, app and daprd, over the round; daprd's component calls from its metrics. Variants take turns.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from framework import proc_cpu
from pubsub_events import daprd_calls
from stats import spread

from functions.common import domain_events, names
from tooling.paths import project_root
from tooling.sidecar import AppSpec
from tooling.stack import Stack, StackConfig

HERE = Path(__file__).parent
VARIANTS = ("real", "no-publish", "no-event")


def _request(tag: str) -> str:
    data = {"amount": 1999, "currency": "EUR", "case_id": f"pay_{tag}"}
    return json.dumps({
        "version": 1, "request_id": f"req-{tag}", "template": "recovered", "locale": "en",
        "to": f"bench-{tag}@example.com", "data": data,
    })  # fmt: skip


def _drain(stack: Stack, tags: list[str]) -> float:
    """Enqueue a request per tag and wait for the queue to empty; the seconds it took."""
    client = stack.queue_service().get_queue_client(names.EMAIL_REQUESTS)
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(client.send_message, [_request(tag) for tag in tags]))
    deadline = time.monotonic() + 120 + len(tags)
    while client.get_queue_properties().approximate_message_count:
        if time.monotonic() > deadline:
            raise TimeoutError("email-requests did not drain")
        time.sleep(0.1)
    return time.perf_counter() - began


def one_round(stack: Stack, variant: str, run: int, *, messages: int, warm: int) -> dict[str, float]:
    """Start email-send as `variant`, warm it up, then time `messages` requests; stop it."""
    path = f"{HERE / 'apps'}{os.pathsep}{project_root()}"
    times = stack.config.root / f"publish-times-{run}.json"  # the app as it is times each publish
    env = {"PYTHONPATH": path, "BENCH_VARIANT": "" if variant == "real" else variant,
           "BENCH_PUBLISH_TIMES": str(times) if variant == "real" else ""}  # fmt: skip
    running = stack.start_app(AppSpec(names.EMAIL_SEND, "email_send_variant", env=env))
    try:
        _drain(stack, [f"w{run}{variant}{n}" for n in range(warm)])
        pids = {"app": running.app.popen.pid, "daprd": running.daprd.popen.pid}
        calls = daprd_calls(running.ports.metrics)  # before the CPU, as in pubsub_events
        cpu = {name: proc_cpu(Path(f"/proc/{pid}/stat"))[1] for name, pid in pids.items()}
        wall = _drain(stack, [f"m{run}{variant}{n}" for n in range(messages)])
        used = {name: proc_cpu(Path(f"/proc/{pid}/stat"))[1] - cpu[name] for name, pid in pids.items()}
        after = daprd_calls(running.ports.metrics)
    finally:
        running.stop()
        del stack.apps[names.EMAIL_SEND]
    out = {"per_second": messages / wall, "app_ms": used["app"] / messages * 1000,
           "daprd_ms": used["daprd"] / messages * 1000}  # fmt: skip
    if variant == "real":  # the publishes of the measured requests, after the warm-up's
        seconds = json.loads(times.read_text())[warm:]
        out["publish_thread_ms"] = sum(seconds) / len(seconds) * 1000
        out["publish_share"] = out["publish_thread_ms"] / out["app_ms"] if out["app_ms"] else math.inf
    for key, value in after.items():
        if not key.startswith("input_binding") and value != calls.get(key, 0.0):
            out[key] = (value - calls.get(key, 0.0)) / messages
    return out


def measure(work: Path, *, messages: int = 500, runs: int = 5, warm: int = 30) -> dict[str, Any]:
    """The variants in turns, `runs` rounds; medians, and the per-round ratios of the app to each variant."""
    shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]  # the machine's, before this bench starts anything
    rounds: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
    values = {"QUEUE_POLLING_INTERVAL": "100ms"}
    with Stack(StackConfig(root=work, apps=[], values=values)) as stack:
        for run in range(runs):
            for variant in VARIANTS[run % len(VARIANTS) :] + VARIANTS[: run % len(VARIANTS)]:
                rounds[variant].append(one_round(stack, variant, run, messages=messages, warm=warm))
        assert stack.redis is not None  # noqa: S101 - a running stack has its broker
        published = int(stack.redis.command("XLEN", domain_events.EMAIL))  # type: ignore[arg-type]
        mails = len(list(stack.mail_dir.glob("*.eml")))
    if published != runs * (messages + warm):
        raise RuntimeError(f"{published} email events published, expected {runs * (messages + warm)}")
    if mails != len(VARIANTS) * runs * (messages + warm):
        raise RuntimeError(f"{mails} mails captured, expected {len(VARIANTS) * runs * (messages + warm)}")
    out: dict[str, Any] = {"messages": messages, "runs": runs, "warm": warm, "published": published,
                           "load_before": load}  # fmt: skip
    for variant, rows in rounds.items():
        keys = sorted({key for row in rows for key in row})
        out[variant] = {key: spread([row.get(key, 0.0) for row in rows]) for key in keys}
    for base in ("no-publish", "no-event"):
        for field in ("app_ms", "daprd_ms"):
            pairs = zip(rounds["real"], rounds[base], strict=True)
            per_round = [a[field] / b[field] if b[field] else math.inf for a, b in pairs]  # as pubsub_events
            out.setdefault("ratio_rounds", {})[f"{base} {field}"] = per_round
            out.setdefault("ratio", {})[f"{base} {field}"] = statistics.median(per_round)
    return out
