"""CPU per charge through the Stripe adapter against a bare call of the same binding (issue 17).

The old bespoke path (`POST /v1/charges` JSON) is gone, so the baseline is the least any adapter must
do: a bare `invoke_binding` of the `payment-gateway` http output binding with a prebuilt request of
the same bytes. Both paths run in one client process (`stripe_probe.py`), through one daprd that
loads only `payment-gateway`, to the processor sandbox (in this process, so its CPU is not the
client's). Rounds alternate the paths; the ratio is the median of the rounds' own ratios.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from stats import spread

from tooling import components, daprd, sidecar
from tooling.paths import project_root
from tooling.sandboxes.processor import start_sandbox

_PROBE = Path(__file__).with_name("stripe_probe.py")
GOAL = 1.2  # the adapter's CPU per charge, times the bare call's (issue 17)


def _probe(grpc: int, http: int, *args: str) -> Any:  # noqa: ANN401 - the probe's JSON
    env = {
        **os.environ,
        "DAPR_GRPC_PORT": str(grpc),
        "DAPR_HTTP_PORT": str(http),
        "PYTHONPATH": str(project_root()),
        "BINDERY_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, str(_PROBE), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"stripe probe {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(work: Path, *, charges: int = 1000, runs: int = 5, top: int = 8) -> dict[str, Any]:
    """Both paths' CPU ms per charge (median, min, max of `runs`), the ratio and a profile of the adapter.

    The profile (cProfile, thread CPU clock, `top` functions by own time) runs after the rounds,
    outside them: the profiler's own cost would distort the ratio.
    """
    shutil.rmtree(work, ignore_errors=True)
    source = work / "source"
    source.mkdir(parents=True)
    shutil.copy(project_root() / "components" / "local" / "payment-gateway.yaml", source)
    sandbox = start_sandbox(work / "ledger.jsonl")
    try:
        values = {"PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{sandbox.port}"}
        components.render(source, work / "components", values)
        proc, ports = sidecar.start_alone(
            "payment-retry", daprd=daprd.find_or_build(), resources=work / "components",
            log=work / "daprd.log",
        )  # fmt: skip
        try:
            rounds = _probe(ports.grpc, ports.http, "measure", str(charges), str(runs))
            profiled = _probe(ports.grpc, ports.http, "profile", str(max(charges // 2, 1)), str(top))
        finally:
            proc.stop()
    finally:
        sandbox.shutdown()
    per_charge = {
        path: [seconds / charges * 1000 for seconds in figures["cpu"]] for path, figures in rounds.items()
    }
    ratios = [a / b for a, b in zip(per_charge["adapter"], per_charge["bare"], strict=True)]
    return {
        "charges": charges,
        "runs": runs,
        "cpu_ms_per_charge": {path: spread(values) for path, values in per_charge.items()},
        "thread_cpu_ms_per_charge": {
            path: spread([s / charges * 1000 for s in figures["thread"]]) for path, figures in rounds.items()
        },
        "wall_ms_per_charge": {
            path: spread([s / charges * 1000 for s in figures["wall"]]) for path, figures in rounds.items()
        },
        "ratio": statistics.median(ratios),
        "ratio_rounds": ratios,
        "goal": GOAL,
        "profile": profiled,
    }
