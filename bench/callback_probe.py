"""Cost per binding event of each bench app's gRPC server alone: no daprd, no Azurite.

This process plays daprd: it calls the app's AppCallback `OnBindingEvent` over loopback gRPC, one
call at a time on one channel, with the `dapr-api-token` header (every app gets `APP_API_TOKEN`,
as `tooling.sidecar` sets it for both bench apps) and a storage queue event's metadata.
The app's stderr goes to a file, as under the bench stack.

`python bench/callback_probe.py instructions [--events N]`: each app under callgrind; after `warm`
events the counters are zeroed, `N` more are sent, and the counters dumped (`callgrind_control`):
instructions per event, start-up excluded; what idle threads run meanwhile is counted (the bare
app's main thread polls: about 170k instructions a second under callgrind, ~2% of its figure; the
FunctionApp ~30k). `cpu [--events N]`: each app natively, its
user+system CPU (from /proc) over `N` events after the warm-up. Prints JSON. `--keep DIR` keeps the
callgrind dumps (for `callgrind_annotate --inclusive=yes`). Apps beyond the three of the bench
(`framework-noop`…) run `apps/variant_app.py` with parts removed, to break the difference down.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc

from tooling import procs

HERE = Path(__file__).parent
_TICK = os.sysconf("SC_CLK_TCK")
_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)
# name -> (module, binding, extra environment)
APPS: dict[str, tuple[str, str, dict[str, str]]] = {
    "bare": ("bare_app", "bench-bare", {}),
    "framework": ("framework_app", "bench-framework", {}),
    "framework-quiet": ("framework_app", "bench-framework", {"BINDERY_LOG_LEVEL": "WARNING"}),
    "framework-noop": ("variant_app", "bench-framework", {"BENCH_VARIANT": "noop-handle"}),
    "framework-noop-unguarded": ("variant_app", "bench-framework", {"BENCH_VARIANT": "noop-handle,no-guard"}),
}  # fmt: skip
BENCH_APPS = ("bare", "framework", "framework-quiet")


def _metadata(n: int) -> dict[str, str]:
    """What the Azure storage queue binding passes with a message."""
    return {
        "dequeueCount": "1", "messageID": f"0b8c2f5e-5b1e-4d7e-9d55-{n:012d}", "popReceipt": "AgAAAAMAAAAA",
        "insertionTime": "2026-12-06T14:00:00Z", "expirationTime": "2026-12-13T14:00:00Z",
        "nextVisibleTime": "2026-12-06T14:00:30Z",
    }  # fmt: skip


def send(port: int, binding: str, token: str, start: int, count: int) -> None:
    """Send `count` bench events to the app on `port`, one after another, as daprd would."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = appcallback_pb2_grpc.AppCallbackStub(channel).OnBindingEvent  # type: ignore[no-untyped-call]
        auth = (("dapr-api-token", token),)
        for n in range(start, start + count):
            body = json.dumps({"version": 1, "id": f"e{n}", "n": n}).encode()
            request = appcallback_pb2.BindingEventRequest(name=binding, data=body, metadata=_metadata(n))
            call(request, metadata=auth, timeout=600, wait_for_ready=True)


def _start(name: str, work: Path, *, valgrind: bool) -> tuple[subprocess.Popen[bytes], int, str]:
    module, binding, extra = APPS[name]
    port, token = procs.free_port(), secrets.token_urlsafe(24)
    env = {**os.environ, **extra, "APP_PORT": str(port), "APP_API_TOKEN": token, "BENCH_BINDING": binding,
           "PYTHONPATH": f"{HERE / 'apps'}{os.pathsep}{HERE.parent}", "PYTHONHASHSEED": "0",
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    command = [sys.executable, "-m", module]
    if valgrind:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={work / name}.cg", *command]
    with (work / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=HERE.parent)
    return proc, port, token


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(name: str, work: Path, *, events: int, warm: int, valgrind: bool) -> float:
    """Instructions (`valgrind`) or CPU microseconds per event of app `name`'s server process."""
    binding = APPS[name][1]
    proc, port, token = _start(name, work, valgrind=valgrind)
    try:
        send(port, binding, token, 0, warm)
        if valgrind:
            subprocess.run(["callgrind_control", "--zero", str(proc.pid)], check=True, capture_output=True)
        else:
            time.sleep(0.2)  # the warm-up's last CPU ticks settle
            before = _cpu(proc.pid)
        send(port, binding, token, warm, events)
        if not valgrind:
            return (_cpu(proc.pid) - before) / events * 1e6
        subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
        dump = next(work.glob(f"{name}.cg.*"))
        found = _TOTALS.search(dump.read_bytes())
        if found is None:
            raise RuntimeError(f"no totals in {dump}")
        dump.rename(work / f"{name}.events.cg")
        return int(found.group(1)) / events
    finally:
        _stop(proc)


def probe(names: list[str], *, events: int, warm: int, valgrind: bool, keep: Path | None) -> dict[str, Any]:
    """Per event of each app and its ratio to the bare one; under valgrind two apps at a time."""
    work = Path(tempfile.mkdtemp(prefix="callback-probe-")) if keep is None else keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=2 if valgrind else 1) as pool:
            runs = {
                n: pool.submit(measure, n, work, events=events, warm=warm, valgrind=valgrind) for n in names
            }
            costs = {name: run.result() for name, run in runs.items()}
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    unit = "instructions" if valgrind else "cpu_us"
    out: dict[str, Any] = {"events": events, "warm": warm, unit: {k: round(v, 1) for k, v in costs.items()}}
    if "bare" in costs:
        out["ratio"] = {
            name: round(cost / costs["bare"], 3) for name, cost in costs.items() if name != "bare"
        }
    return out


def main() -> int:
    """Print the per-event costs as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("measure", choices=("instructions", "cpu"))
    parser.add_argument("--events", type=int, help="events measured, after the warm-up (500 / 5000)")
    parser.add_argument("--warm", type=int, default=200, help="events sent before measuring")
    parser.add_argument("--apps", default=",".join(BENCH_APPS), help=f"of {', '.join(APPS)}")
    parser.add_argument("--keep", type=Path, help="keep the logs and callgrind dumps here")
    args = parser.parse_args()
    valgrind = args.measure == "instructions"
    events = args.events or (500 if valgrind else 5000)
    names = args.apps.split(",")
    print(
        json.dumps(probe(names, events=events, warm=args.warm, valgrind=valgrind, keep=args.keep), indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
