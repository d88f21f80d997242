"""Tick cost against open cases: 1k, 100k and 1M open, 100 due, through a real daprd and sqlite.

For each size: a fresh sqlite store (daprd creates its tables), the open cases seeded straight into
the table, then daprd with the sqlite state store and the payment-gateway HTTP binding (to the
processor sandbox), and `tick_probe.py` timing retry ticks through the Dapr APIs. The outbox's
email and receipt messages go to in-memory queues: the bench measures what grows with open cases.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stats import spread

from tooling import components, daprd, procs, sidecar
from tooling.paths import project_root
from tooling.sandboxes.processor import start_sandbox

if TYPE_CHECKING:
    from tooling.sidecar import Ports

_PROBE = Path(__file__).with_name("tick_probe.py")
_NEEDED = ("statestore.yaml", "payment-gateway.yaml")


def _sidecar(binary: Path, resources: Path, log: Path) -> tuple[procs.Proc, Ports]:
    return sidecar.start_alone("payment-retry", daprd=binary, resources=resources, log=log)


def _probe(ports: Ports, *args: str) -> Any:  # noqa: ANN401 - the probe's JSON
    env = {
        **os.environ,
        "DAPR_GRPC_PORT": str(ports.grpc),
        "DAPR_HTTP_PORT": str(ports.http),
        "PYTHONPATH": str(project_root()),
    }
    done = subprocess.run(
        [sys.executable, str(_PROBE), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"tick probe {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(work: Path, sizes: tuple[int, ...], *, due: int = 100, runs: int = 5) -> dict[str, Any]:
    """Seed and tick each size; return per-size seeding figures and tick medians (min, max)."""
    binary = daprd.find_or_build()
    shutil.rmtree(work, ignore_errors=True)
    sandbox = start_sandbox(work / "ledger.jsonl")
    sizes_out: dict[str, Any] = {}
    try:
        source = work / "source"
        source.mkdir(parents=True)
        for name in _NEEDED:
            shutil.copy(project_root() / "components" / "local" / name, source / name)
        for size in sizes:
            folder = work / f"open-{size}"
            values = {"STATE_DIR": str(folder), "PAYMENT_GATEWAY_URL": f"http://127.0.0.1:{sandbox.port}"}
            components.render(source, folder / "components", values)
            creator, ports = _sidecar(binary, folder / "components", folder / "daprd.log")
            creator.stop()  # daprd created the tables
            seeded = _probe(ports, "seed", str(folder / "state.db"), str(size))
            running, ports = _sidecar(binary, folder / "components", folder / "daprd.log")
            try:
                ticks = _probe(ports, "tick", str(folder / "state.db"), str(due), str(runs))
            finally:
                running.stop()
            sizes_out[str(size)] = {"seed": seeded, **_summary(ticks)}
            print(f"  {size:>9,} open: tick median {sizes_out[str(size)]['tick']['median']:.3f}s", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        sandbox.shutdown()
    first, last = str(sizes[0]), str(sizes[-1])
    ratio = sizes_out[last]["tick"]["median"] / sizes_out[first]["tick"]["median"]
    return {"due": due, "runs": runs, "sizes": sizes_out, "ratio_largest_to_smallest": ratio}


def _summary(ticks: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, field in (("tick", "tick_seconds"), ("idle_tick", "idle_tick_seconds")):
        values = [run[field] for run in ticks]
        out[name] = spread(values)
    return out
