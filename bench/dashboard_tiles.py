"""A full refresh of every dashboard tile over the counters of 1,000 and of 1,000,000 open cases.

Per size: daprd (app id tile-builder, components/local's `aggregates` and `tiles` sqlite stores in a
folder of its own) creates its tables and stops; `dashboard_seed` writes the counters straight into
`aggregates.db` as daprd stores them (the aggregator's layout: each shard's counts key, with the ids it
has counted, and its totals key, the tallies alone; the dunning gauges); daprd starts again beside
`dashboard_probe.py`, the builder's process, which runs `refresh.tick` through the Dapr state API on
command. Both sizes run side by side and take turns, round by round; each tick rebuilds every catalogue
tile. Figures a tick: the builder process's CPU (its own clock, every thread), its daprd's CPU (/proc),
wall time, daprd's state calls (its metrics) and what the builder read (keys by kind, bulk reads,
bytes). The measured daprds and probes raise the Dapr gRPC API's 4 MiB message limit (`MAX_MESSAGE`),
as they had to when a tile read the shards' ids; one more tick at the largest size with the limits as
shipped records whether a refresh still needs that.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import dashboard_seed
from framework import proc_cpu
from pubsub_events import daprd_calls
from stats import spread

from functions.common import names
from tooling import components, daprd, procs, sidecar
from tooling.paths import project_root

_PROBE = Path(__file__).with_name("dashboard_probe.py")
MAX_MESSAGE = 1 << 30  # bytes: the raised gRPC limit of the measured daprds and probes
REPEAT = 5  # ticks a round of the smaller size (their mean): its daprd's CPU is a few clock ticks
_FIELDS = ("cpu_s", "wall_s", "counters_keys", "counters_keys_totals", "counters_keys_counts",
           "counters_keys_gauges", "counters_reads", "counters_read_bytes", "tiles_saved_bytes")  # fmt: skip


class Builder:
    """One size's daprd and builder probe."""

    def __init__(self, folder: Path, base: datetime, *, max_message: int | None) -> None:
        self.daprd, self.ports = _daprd(folder, max_message=max_message)
        env = {**os.environ, "DAPR_GRPC_PORT": str(self.ports.grpc), "DAPR_HTTP_PORT": str(self.ports.http),
               "PYTHONPATH": str(project_root()), "BINDERY_LOG_LEVEL": "WARNING"}  # fmt: skip
        args = [sys.executable, str(_PROBE), base.isoformat(), *([str(max_message)] if max_message else [])]
        self.probe = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def tick(self, command: str) -> dict[str, Any]:
        """Run one tick in the probe; its figures, with daprd's CPU and state calls over it."""
        stdin, stdout = self._pipes()
        calls = daprd_calls(self.ports.metrics)  # before the CPU: the scrape is daprd's work
        cpu = proc_cpu(Path(f"/proc/{self.daprd.popen.pid}/stat"))[1]
        stdin.write(command + "\n")
        stdin.flush()
        line = stdout.readline()
        used = proc_cpu(Path(f"/proc/{self.daprd.popen.pid}/stat"))[1] - cpu
        if not line:
            raise RuntimeError(f"the builder probe stopped (exit {self.probe.wait()})")
        out: dict[str, Any] = {**json.loads(line), "daprd_cpu_s": used}
        after = daprd_calls(self.ports.metrics)
        out |= {key: value - calls.get(key, 0.0) for key, value in after.items() if key.startswith("state ")}
        return out

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        if self.probe.stdin is None or self.probe.stdout is None:
            raise RuntimeError("the probe has no pipes")
        return self.probe.stdin, self.probe.stdout

    def stop(self) -> None:
        """Stop the probe, then daprd."""
        if self.probe.stdin is not None:
            self.probe.stdin.close()
        self.probe.wait(timeout=30)
        self.daprd.stop()


def _daprd(folder: Path, *, max_message: int | None) -> tuple[procs.Proc, sidecar.Ports]:
    """The tile builder's daprd alone (`sidecar.start_alone`, with `--max-body-size` when raised)."""
    binary, ports = daprd.find_or_build(), sidecar.Ports.free()
    argv = [str(binary), "--app-id", names.TILE_BUILDER, "--resources-path", str(folder / "components"),
            "--dapr-listen-addresses", "127.0.0.1", "--dapr-grpc-port", str(ports.grpc),
            "--dapr-http-port", str(ports.http), "--dapr-internal-grpc-port", str(ports.internal),
            "--dapr-internal-grpc-listen-address", "127.0.0.1", "--metrics-port", str(ports.metrics),
            "--log-level", "warn"]  # fmt: skip
    argv += ["--max-body-size", f"{max_message >> 20}Mi"] if max_message else []
    proc = procs.start(f"{names.TILE_BUILDER}-daprd", argv, log=folder / "daprd.log")
    health = procs.http_status(f"http://127.0.0.1:{ports.http}/v1.0/healthz", 204)
    procs.wait_until(proc, health, timeout=60, what="daprd healthy")
    return proc, ports


def prepare(work: Path, size: int, base: datetime) -> dict[str, Any]:
    """`folder(work, size)` with rendered components and `size` open cases' counters; the seed's figures."""
    where = folder(work, size)
    source = work / "source"
    source.mkdir(parents=True, exist_ok=True)
    for name in ("aggregates.yaml", "tiles.yaml"):
        shutil.copy(project_root() / "components" / "local" / name, source / name)
    components.render(source, where / "components", {"STATE_DIR": str(where)})
    creator, _ = _daprd(where, max_message=None)
    creator.stop()  # daprd created both tables
    began = time.perf_counter()
    rows = dashboard_seed.shards(size, base.date())
    seeded: dict[str, Any] = dashboard_seed.write(where / "aggregates.db", rows)
    seeded |= {"opened": dashboard_seed.opened(rows), "seconds": round(time.perf_counter() - began, 1)}
    return seeded


def folder(work: Path, size: int) -> Path:
    """Where `measure` keeps `size`'s stores (the largest's `tiles.db` holds the page's tiles after it)."""
    return work / f"open-{size}"


def measure(work: Path, sizes: tuple[int, int] = (1_000, 1_000_000), *, runs: int = 7) -> dict[str, Any]:
    """Seed both sizes, then `runs` interleaved rounds; medians, per-round ratios, the as-shipped tick."""
    shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    base = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)  # before any tick-real
    seeds = {}
    for size in sizes:
        seeds[str(size)] = prepare(work, size, base)
        print(f"  {size:>9,} open: {seeds[str(size)]['bytes'] / 1e6:,.1f} MB of counters", flush=True)
    builders = {size: Builder(folder(work, size), base, max_message=MAX_MESSAGE) for size in sizes}
    rounds: dict[str, list[dict[str, Any]]] = {str(size): [] for size in sizes}
    try:
        warm = {str(size): builder.tick("tick 0") for size, builder in builders.items()}
        for run in range(runs):
            order = sizes if run % 2 == 0 else sizes[::-1]
            for size in order:  # the smaller size's round: the mean of REPEAT ticks (a CPU tick is 10 ms)
                count = 1 if size == sizes[-1] else REPEAT
                ticks = [builders[size].tick(f"tick {run * REPEAT + n + 1}") for n in range(count)]
                rounds[str(size)].append(_mean([_checked(row) for row in ticks]))
        shipped = _as_shipped(folder(work, sizes[-1]), base, runs * REPEAT + 1)
        _checked(builders[sizes[-1]].tick("tick-real"))  # the page's tiles: the catalogue, the wall clock
    finally:
        for builder in builders.values():
            builder.stop()
    return {**summary(rounds, sizes), "seed": seeds, "warm": warm, "runs": runs, "load_before": load,
            "max_message": MAX_MESSAGE, "as_shipped": shipped, "repeat": REPEAT}  # fmt: skip


def _mean(rows: list[dict[str, Any]]) -> dict[str, Any]:
    numbers = {key for key, value in rows[0].items() if isinstance(value, int | float)}
    return {key: statistics.fmean(row[key] for row in rows) for key in numbers}


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    if row["failed"] or not row["built"]:
        raise RuntimeError(f"a measured tick failed: {row['failed']}")
    return row


def _as_shipped(where: Path, base: datetime, second: int) -> dict[str, Any]:
    """One tick at the largest size with daprd's and the client's message limits as they ship (4 MiB)."""
    builder = Builder(where, base, max_message=None)
    try:
        row = builder.tick(f"tick {second}")
    finally:
        builder.stop()
    return {"built": row["built"], "failed": row["failed"], "wall_s": row["wall_s"]}


def summary(rounds: dict[str, list[dict[str, Any]]], sizes: tuple[int, int]) -> dict[str, Any]:
    """Each size's medians (min, max) and the per-round ratios of the largest size to the smallest."""
    out: dict[str, Any] = {"sizes": {}}
    for size, rows in rounds.items():
        keys = [*_FIELDS, "daprd_cpu_s", *sorted({k for row in rows for k in row if k.startswith("state ")})]
        out["sizes"][size] = {key: spread([float(row.get(key, 0.0)) for row in rows]) for key in keys}
    small, large = rounds[str(sizes[0])], rounds[str(sizes[-1])]
    for field in ("cpu_s", "daprd_cpu_s", "wall_s"):
        per_round = [
            b[field] / a[field] if a[field] else float("inf") for a, b in zip(small, large, strict=True)
        ]
        out.setdefault("ratio_rounds", {})[field] = per_round
        out.setdefault("ratio", {})[field] = statistics.median(per_round)
    return out
