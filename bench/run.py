"""`make bench`: run the benchmarks, write var/bench/results.json and BENCHMARKS.md.

Sections: the retry tick against open cases, framework overhead, start-up and memory, email rates,
and `bindery simulate`'s run time (bench/README.md). `--quick` runs small sizes (a smoke run; its
figures are not the published ones, and it writes var/bench/BENCHMARKS.md instead).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import email_rate
import framework
import tick_cost
from report import markdown
from stats import spread

from bindings.dev import daprd, simulation
from bindings.dev.paths import project_root, var_dir


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if "model name" in line
        ]
        cpu = names[0] if names else cpu
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "daprd": daprd.pinned_version(),
    }


def simulate_runs(runs: int, *, days: int, customers: int) -> dict[str, Any]:
    """Wall time of `bindery simulate` over `runs` runs (seeds 1..runs)."""
    seconds = [
        simulation.run(days=days, customers=customers, seed=seed).seconds for seed in range(1, runs + 1)
    ]
    return {
        "days": days,
        "customers": customers,
        "runs": runs,
        "seconds": spread(seconds),
    }


def main() -> int:
    """Run every section and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke run")
    args = parser.parse_args()
    began = time.perf_counter()
    sizes = (1_000, 10_000) if args.quick else (1_000, 100_000, 1_000_000)
    print("tick cost against open cases…", flush=True)
    tick = tick_cost.measure(var_dir() / "bench" / "work", sizes, runs=2 if args.quick else 5)
    print("framework overhead, ready time and memory…", flush=True)
    apps = {
        "overhead": framework.overhead(
            var_dir() / "bench" / "framework",
            events=300 if args.quick else 2000,
            runs=1 if args.quick else 3,
            growth_events=1500 if args.quick else 10_000,
        ),
        "ready": framework.ready(var_dir() / "bench" / "ready", runs=2 if args.quick else 5),
    }
    print("email send rate and webhook throughput…", flush=True)
    work = var_dir() / "bench" / "email"
    email = {
        "sends": email_rate.sends(work, count=50 if args.quick else 300, runs=2 if args.quick else 5),
        "webhook": email_rate.webhook(work, posts=10 if args.quick else 50),
    }
    print("bindery simulate…", flush=True)
    sim = simulate_runs(1 if args.quick else 3, days=30, customers=100 if args.quick else 1000)
    results = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "machine": machine(),
        "tick": tick,
        "simulate": sim,
        "email": email,
        "apps": apps,
        "seconds": time.perf_counter() - began,
    }
    out = var_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    target = out / "BENCHMARKS.md" if args.quick else project_root() / "BENCHMARKS.md"
    target.write_text(markdown(results))
    print(f"wrote {out / 'results.json'} and {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
