"""Dunning events per second through daprd and Redis into the aggregator, against two baselines.

The counting subscriber (`apps/counting_subscriber.py`: no framework, plain `json`, the same state
calls as the aggregator: the shard's read, the id check, one state transaction of its counts, totals
and gauges keys with the same guards) is the goal's baseline; the bare subscriber
(`apps/bare_subscriber.py`) answers SUCCESS unread; `apps/aggregator_variant.py` is FunctionApp's
topic path without counting. One stack (Redis; components/local's `domain-events`, its resiliency,
`aggregates` and dead letters, the bench apps added to their scopes) runs the four, each behind its
own daprd and on a topic of its own. A round XADDs `events` version 2 DunningEvents onto the app's
stream in one pipelined write, in daprd's `pubsub.redis` envelope, and ends when the app's consumer
group has read the last entry with none pending. Each round counts under a day of its own (fresh
counts and totals keys; the gauges keys are all-time); ids are never reused. CPU: user+system time
from /proc of the app and of its daprd; daprd's state calls from its metrics.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import statistics
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from framework import proc_cpu
from stats import spread

from functions.common import names
from functions.common.aggregates import SHARDS, Counts
from tooling import state_reader
from tooling.paths import project_root
from tooling.sidecar import AppSpec, RunningApp
from tooling.stack import Stack, StackConfig

HERE = Path(__file__).parent
BARE, NO_STORE, COUNTING = "bench-bare-subscriber", "bench-aggregator-no-store", "bench-counting-subscriber"
TOPICS = {names.AGGREGATOR: "dunning", COUNTING: "bench-dunning-counting", NO_STORE: "bench-dunning-no-store",
          BARE: "bench-dunning"}  # fmt: skip
_COMPONENTS = ("domain-events.yaml", "aggregates.yaml", "resiliency.yaml", "dead-letters.yaml")
_FIRST_DAY = date(2020, 1, 1)  # round r counts under this day + r (+1: the warm-up's is the first)
_COUNT = re.compile(r"^dapr_component_(\w+)_count\{(.*)\} (\S+)$")


def components(work: Path) -> Path:
    """components/local's pub/sub, its resiliency, `aggregates`, dead letters; the bench apps in scope."""
    source = work / "components"
    source.mkdir(parents=True, exist_ok=True)
    for name in _COMPONENTS:
        text = (project_root() / "components" / "local" / name).read_text()
        if name in {"domain-events.yaml", "resiliency.yaml"}:
            text = text.replace("\nscopes: [", f"\nscopes: [{BARE}, {NO_STORE}, {COUNTING}, ", 1)
        elif name == "aggregates.yaml":
            text = text.replace("\nscopes: [", f"\nscopes: [{COUNTING}, ", 1)
        (source / name).write_text(text)
    return source


def event(topic: str, day: date, run: int, n: int) -> tuple[bytes, bytes]:
    """(data, metadata) of the stream entry daprd would write for dunning effect `n` of round `run`.

    A version 2 `DunningEvent` (`failed_at` three days before, its case's `step`; the recovery's
    `email_step`), so each moves the open-cases gauges as well: the aggregator's read is of two keys and
    its transaction of three (counts, totals, gauges), for every event.
    """
    case_id = f"pay_b{run}x{n}"
    declined: dict[str, object] = {"attempt": 1, "outcome": "declined", "decline_class": "soft",
                                   "decline_code": "do_not_honor", "step": 1}  # fmt: skip
    kinds: list[tuple[str, dict[str, object]]] = [
        ("case.opened", {"step": 0}),
        ("attempt.charged", declined),
        ("attempt.charged", {"attempt": 2, "outcome": "paid", "step": 2}),
        ("case.recovered", {"step": 2, "email_step": "reminder"}),
    ]
    kind, extra = kinds[n % 4]
    suffix = f"attempt:{extra['attempt']}" if "attempt" in extra else kind.removeprefix("case.")
    at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(milliseconds=n)
    failed = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) - timedelta(days=3)
    body = {"type": kind, "version": 2, "event_id": f"{case_id}:{suffix}", "case_id": case_id,
            "customer_id": f"cus_b{n}", "occurred_at": at.isoformat(), "amount": 1999, "currency": "EUR",
            "failed_at": failed.isoformat(), **extra}  # fmt: skip
    cloud = {"data": body, "datacontenttype": "application/json", "id": body["event_id"],
             "pubsubname": names.DOMAIN_EVENTS, "source": names.PAYMENT_RETRY, "specversion": "1.0",
             "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "topic": topic, "traceid": "", "traceparent": "",
             "tracestate": "", "type": kind}  # fmt: skip
    metadata = {"cloudevent.id": body["event_id"], "cloudevent.type": kind}
    return json.dumps(cloud).encode(), json.dumps(metadata).encode()


def xadd_all(port: int, stream: str, entries: list[tuple[bytes, bytes]]) -> bytes:
    """XADD every (data, metadata) onto `stream` in one pipelined write; the last entry's id."""
    parts = [[b"XADD", stream.encode(), b"*", b"data", data, b"metadata", meta] for data, meta in entries]
    wire = b"".join(b"*%d\r\n" % len(p) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in p) for p in parts)
    last = b""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(wire)
        with sock.makefile("rb") as replies:
            for _ in entries:
                line = replies.readline()
                if not line.startswith(b"$"):
                    raise RuntimeError(f"XADD answered {line[:80]!r}")
                last = replies.readline().rstrip(b"\r\n")
    return last


def daprd_calls(port: int) -> dict[str, float]:
    """The daprd's component call counters (its metrics): `state get aggregates` → calls so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    calls: dict[str, float] = {}
    for line in text.splitlines():
        found = _COUNT.match(line)
        if found is None or found[1].endswith("latencies"):  # a histogram's count, not a counter
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found[2]))
        failed = labels.get("success", "true") != "true" or labels.get("status", "success") != "success"
        key = " ".join(filter(None, (found[1], labels.get("operation"), labels.get("component"))))
        key += " failed" if failed else ""
        calls[key] = calls.get(key, 0.0) + float(found[3])
    return calls


def _done(stack: Stack, stream: str, group: str, last: bytes) -> bool:
    assert stack.redis is not None  # noqa: S101 - a running stack has its broker
    for info in stack.redis.command("XINFO", "GROUPS", stream) or []:  # type: ignore[union-attr]
        fields = dict(zip(info[::2], info[1::2], strict=True))  # type: ignore[index]
        if fields[b"name"] == group.encode():
            return bool(fields[b"last-delivered-id"] == last and fields[b"pending"] == 0)
    return False


def one_round(stack: Stack, app: str, day: date, run: int, events: int) -> dict[str, float]:
    """Publish `events` onto the app's topic and wait until its group has handled them: rates, CPU, calls."""
    running: RunningApp = stack.apps[app]
    assert stack.redis is not None  # noqa: S101
    entries = [event(TOPICS[app], day, run, n) for n in range(events)]
    pids = {"app": running.app.popen.pid, "daprd": running.daprd.popen.pid}
    calls = daprd_calls(running.ports.metrics)  # before the CPU: the scrape is daprd's work, not the round's
    cpu = {name: proc_cpu(Path(f"/proc/{pid}/stat"))[1] for name, pid in pids.items()}
    began = time.perf_counter()
    last = xadd_all(stack.redis.port, TOPICS[app], entries)
    deadline = time.monotonic() + 300 + events / 10
    while not _done(stack, TOPICS[app], app, last):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{app}: {events} events not handled in time")
        time.sleep(0.02)
    wall = time.perf_counter() - began
    used = {name: proc_cpu(Path(f"/proc/{pid}/stat"))[1] - cpu[name] for name, pid in pids.items()}
    after = daprd_calls(running.ports.metrics)
    out = {"per_second": events / wall, "app_ms": used["app"] / events * 1000,
           "daprd_ms": used["daprd"] / events * 1000}  # fmt: skip
    for key, value in after.items():
        if key.startswith("state "):
            out[key] = (value - calls.get(key, 0.0)) / events
    return out


def counted(stack: Stack, day: date, topic: str = "dunning") -> int:
    """Events the shards of `topic` on `day` remember having counted (one `aggregates` key prefix)."""
    database = stack.config.root / "state" / "aggregates.db"
    rows = state_reader.values(database, names.AGGREGATOR, f"counts:{topic}:{day.isoformat()}:")
    return sum(len(Counts.model_validate_json(value).seen) for _, value in rows)


def measure(work: Path, *, events: int = 2000, runs: int = 5, warm: int = 200) -> dict[str, Any]:
    """The four apps in turns, `runs` rounds of `events` after a warm-up; medians and per-round ratios."""
    shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]  # the machine's, before this bench starts anything
    path = f"{HERE / 'apps'}{os.pathsep}{project_root()}"
    specs = [
        AppSpec(names.AGGREGATOR, "functions.aggregator.app"),
        AppSpec(NO_STORE, "aggregator_variant", env={"PYTHONPATH": path, "BENCH_TOPIC": TOPICS[NO_STORE]}),
        AppSpec(COUNTING, "counting_subscriber", env={"PYTHONPATH": path, "BENCH_TOPIC": TOPICS[COUNTING]}),
        AppSpec(BARE, "bare_subscriber", env={"PYTHONPATH": path, "BENCH_TOPIC": TOPICS[BARE]}),
    ]
    rounds: dict[str, list[dict[str, float]]] = {app: [] for app in TOPICS}
    with Stack(StackConfig(root=work / "stack", apps=specs, components=components(work))) as stack:
        for app in TOPICS:  # first calls, imports, the store's first keys
            one_round(stack, app, _FIRST_DAY, -1, warm)
        for run in range(runs):
            day = _FIRST_DAY + timedelta(days=run + 1)
            apps = list(TOPICS)
            for app in apps[run % len(apps) :] + apps[: run % len(apps)]:  # rotate: none always first
                rounds[app].append(one_round(stack, app, day, run, events))
            for app, topic in ((names.AGGREGATOR, "dunning"), (COUNTING, TOPICS[COUNTING])):
                if (found := counted(stack, day, topic)) != events:
                    raise RuntimeError(f"{app} counted {found} of round {run}'s {events} events")
    return {**summary(rounds, events=events, runs=runs, warm=warm, shards=SHARDS), "load_before": load}


def _ratios(rounds: dict[str, list[dict[str, float]]], top: str, base: str, field: str) -> list[float]:
    # A toy round may use less CPU than one clock tick: its ratio is then infinite, not an error.
    return [
        a[field] / b[field] if b[field] else math.inf for a, b in zip(rounds[top], rounds[base], strict=True)
    ]


def summary(rounds: dict[str, list[dict[str, float]]], **sizes: int) -> dict[str, Any]:
    """Medians (min, max) of each app; per-round ratios: to both baselines, and aggregator to no-store."""
    out: dict[str, Any] = {**sizes}
    for app, rows in rounds.items():
        keys = sorted({key for row in rows for key in row})
        out[app] = {key: spread([row.get(key, 0.0) for row in rows]) for key in keys}
    pairs = {"aggregator": (names.AGGREGATOR, BARE), "no_store": (NO_STORE, BARE),
             "store": (names.AGGREGATOR, NO_STORE), "counting": (names.AGGREGATOR, COUNTING),
             "counting_bare": (COUNTING, BARE)}  # fmt: skip
    for name, (top, base) in pairs.items():
        for field in ("app_ms", "daprd_ms", "per_second"):
            per_round = _ratios(rounds, top, base, field)
            out.setdefault("ratio_rounds", {})[f"{name} {field}"] = per_round
            out.setdefault("ratio", {})[f"{name} {field}"] = statistics.median(per_round)
    return out
