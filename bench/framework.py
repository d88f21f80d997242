"""What FunctionApp costs: CPU per event against a bare app, ready time, idle and growing memory.

The bare app is `dapr.ext.grpc` alone, behind the same daprd build as the FunctionApp one.

CPU is the app process's user+system time (from /proc) from before the messages are enqueued until
its queue is empty, divided by the events; both apps poll the same Azurite at the same interval.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stats import spread

from tooling import procs, webhook_keys
from tooling.paths import project_root
from tooling.sidecar import AppSpec
from tooling.stack import Stack, StackConfig

HERE = Path(__file__).parent
_TICK = os.sysconf("SC_CLK_TCK")
# name -> (module, extra environment): the FunctionApp runs twice, logging each event (the default,
# INFO) and logging only warnings, to show what the per-event log line costs.
_APPS = {
    "bare": ("bare_app", {}),
    "framework": ("framework_app", {}),
    "framework-quiet": ("framework_app", {"BINDERY_LOG_LEVEL": "WARNING"}),
}
FUNCTIONS = ("payment_retry", "email_send", "email_events", "email_webhook", "demo_ticker", "demo_archiver")


def proc_cpu(stat: Path) -> tuple[int, float]:
    """(process group, CPU seconds so far, user + system) from a `/proc/<pid>/stat` file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, pgrp, … utime at 11
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def _cpu_seconds(pid: int) -> float:
    return proc_cpu(Path(f"/proc/{pid}/stat"))[1]


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _drain(stack: Stack, queue: str, count: int, start: int = 0) -> None:
    client = stack.queue_service().get_queue_client(queue)
    texts = [json.dumps({"version": 1, "id": f"e{n}", "n": n}) for n in range(start, start + count)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(client.send_message, texts))
    deadline = time.monotonic() + 600
    while client.get_queue_properties().approximate_message_count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{queue} did not drain")
        time.sleep(0.2)


def overhead(
    root: Path, *, events: int = 2000, runs: int = 3, growth_events: int = 10_000, warm: int = 1000
) -> dict[str, Any]:
    """CPU per event of each app (medians of `runs` rounds), their ratios, the framework app's RSS growth."""
    shutil.rmtree(root, ignore_errors=True)  # no Azurite store or app logs left by earlier runs
    path = f"{HERE / 'apps'}{os.pathsep}{project_root()}"
    specs = [
        AppSpec(f"bench-{name}", module, env={"PYTHONPATH": path, "BENCH_BINDING": f"bench-{name}", **extra})
        for name, (module, extra) in _APPS.items()
    ]
    values = {"QUEUE_POLLING_INTERVAL": "100ms", "QUEUE_VISIBILITY_TIMEOUT": "30s"}
    config = StackConfig(root=root, apps=specs, components=HERE / "components", values=values)
    per_event: dict[str, list[float]] = {name: [] for name in _APPS}
    with Stack(config) as stack:
        for run in range(runs):
            names = list(_APPS)
            for name in names[run % len(names) :] + names[: run % len(names)]:  # rotate: no app always first
                pid = stack.apps[f"bench-{name}"].app.popen.pid
                before = _cpu_seconds(pid)
                _drain(stack, f"bench-{name}", events)
                per_event[name].append((_cpu_seconds(pid) - before) / events * 1000)
        pid = stack.apps["bench-framework"].app.popen.pid
        _drain(stack, "bench-framework", warm, start=10**6)
        early = _rss_mib(pid)
        _drain(stack, "bench-framework", growth_events - warm, start=2 * 10**6)
        late = _rss_mib(pid)
    cpu = {name: spread(values) for name, values in per_event.items()}
    # Each ratio is the median of the rounds' own ratios: the apps of one round ran minutes apart at
    # most, so a load that changes between rounds (other jobs on the machine) moves both sides.
    rounds = {name: [app / bare for app, bare in zip(per_event[name], per_event["bare"], strict=True)]
              for name in ("framework", "framework-quiet")}  # fmt: skip
    return {
        "events": events,
        "runs": runs,
        "cpu_ms_per_event": cpu,
        "ratio": statistics.median(rounds["framework"]),
        "ratio_quiet": statistics.median(rounds["framework-quiet"]),
        "ratio_rounds": rounds,
        "rss_growth": {"events": growth_events, "warm": warm, "after_warm_mib": early, "after_all_mib": late,
                       "growth": late / early - 1},
    }  # fmt: skip


def handle_cost(events: int = 20_000, runs: int = 3) -> dict[str, Any]:
    """CPU µs per event of `FunctionApp.handle` alone (no gRPC, no sidecar), at INFO and at WARNING."""
    env = {**os.environ, "PYTHONPATH": f"{HERE / 'apps'}{os.pathsep}{project_root()}"}
    out: dict[str, Any] = {}
    for level in ("INFO", "WARNING"):
        probe = [sys.executable, str(HERE / "apps" / "handle_probe.py"), level, str(events)]
        runs_us = [
            float(subprocess.run(probe, env=env, capture_output=True, text=True, check=True).stdout)
            for _ in range(runs)
        ]
        out[level] = spread(runs_us)
    return out


def ready(
    root: Path, *, runs: int = 5, functions: tuple[str, ...] = FUNCTIONS, warm_after: float | None = None
) -> dict[str, Any]:
    """Per function app: seconds from process start to its port accepting (median of `runs`), idle RSS.

    With `warm_after`, RSS is read again that many seconds after ready (after a background warm-up).
    """
    key = webhook_keys.public_key(webhook_keys.load_or_create(root / "webhook-key.pem"))
    out: dict[str, Any] = {}
    for function in functions:
        times, rss, warm = [], [], []
        for _ in range(runs):
            port = procs.free_port()
            env = {**os.environ, "APP_PORT": str(port), "SENDGRID_WEBHOOK_PUBLIC_KEY": key,
                   "PYTHONPATH": str(project_root()), "BINDERY_LOG_LEVEL": "WARNING"}  # fmt: skip
            accepting = procs.port_open(port)
            began = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", f"functions.{function}.app"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                while not accepting():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{function} exited ({proc.returncode}) before listening")
                    time.sleep(0.005)
                times.append(time.perf_counter() - began)
                time.sleep(1.0)
                rss.append(_rss_mib(proc.pid))
                if warm_after is not None:
                    time.sleep(max(warm_after - 1.0, 0.0))
                    warm.append(_rss_mib(proc.pid))
            finally:
                proc.terminate()
                proc.wait(10)
        out[function] = {"ready_seconds": spread(times), "idle_rss_mib": spread(rss)}
        out[function]["imports_ms"] = import_profile(function)
        if warm:
            out[function]["warm_rss_mib"] = spread(warm)
    return out


def import_profile(function: str, top: int = 6) -> dict[str, float]:
    """Where an app's start-up imports go: milliseconds by top-level package (`-X importtime`), largest first.

    What `FunctionApp.run` imports too (the gRPC server) is included; the `top` packages are kept.
    """
    serve = "'bindings.app' in sys.modules and __import__('bindings.server')"  # FunctionApp apps only
    code = f"import sys, functions.{function}.app\n{serve}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=project_root(),
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        own, _total, name = line.removeprefix("import time:").split("|")
        package = name.strip().split(".")[0]
        package = "stdlib" if package in sys.stdlib_module_names else package
        by_package[package] = by_package.get(package, 0.0) + int(own) / 1000
    ranked = sorted(by_package.items(), key=lambda item: -item[1])
    kept = dict(ranked[:top])
    kept["other"] = sum(ms for _name, ms in ranked[top:])
    return kept
