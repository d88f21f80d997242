"""`make bench`: run the benchmarks, write var/bench/results.json and BENCHMARKS.md.

Sections: the retry tick against open cases, framework overhead, start-up and memory, email rates,
receipt rendering against ReportLab, the Stripe adapter's CPU per charge and the Stripe intake's events
per second, the aggregator's events per second and the cost of publishing domain events, a dashboard
tile refresh against open cases and the page's load in Chromium, and `bindery simulate`'s run time
(bench/README.md). `--quick` runs small sizes (a smoke run; its figures are not the published ones, and
it writes var/bench/BENCHMARKS.md instead). `--only receipt` (or `framework`, `stripe`, `pubsub`,
`dashboard`) runs that section alone and keeps the other sections' figures from the last results.json of
the same kind (full or quick).
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

import dashboard_page
import email_rate
import framework
import pubsub_events
import pubsub_publish
import receipt_pipeline
import receipt_render
import stripe_charge
import stripe_intake
import tick_cost
from report import markdown
from stats import spread

from tooling import daprd
from tooling.paths import project_root, var_dir
from tooling.simulation import command as simulation


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
    """Run every section (or `--only` one) and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke run")
    parser.add_argument(
        "--only",
        choices=["receipt", "framework", "stripe", "pubsub", "dashboard"],
        help="run this section alone, keep the others",
    )
    args = parser.parse_args()
    if args.only:
        return only(args.only, quick=args.quick)
    began = time.perf_counter()
    sizes = (1_000, 10_000) if args.quick else (1_000, 100_000, 1_000_000)
    print("tick cost against open cases…", flush=True)
    tick = tick_cost.measure(var_dir() / "bench" / "work", sizes, runs=2 if args.quick else 5)
    apps = _framework(quick=args.quick)
    print("email send rate and webhook throughput…", flush=True)
    work = var_dir() / "bench" / "email"
    email = {
        "sends": email_rate.sends(work, count=50 if args.quick else 300, runs=2 if args.quick else 5),
        "webhook": email_rate.webhook(work, posts=10 if args.quick else 50),
    }
    print("receipt rendering against ReportLab…", flush=True)
    rendering = receipt_render.section(quick=args.quick)
    print("receipt pipeline end to end…", flush=True)
    rendering["pipeline"] = _pipeline(quick=args.quick)
    stripe = _stripe(quick=args.quick)
    pubsub = _pubsub(quick=args.quick)
    dashboard = _dashboard(quick=args.quick)
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
        "receipt": rendering,
        "stripe": stripe,
        "pubsub": pubsub,
        "dashboard": dashboard,
        "seconds": time.perf_counter() - began,
    }
    write(results)
    return 0


def _framework(*, quick: bool) -> dict[str, Any]:
    print("framework overhead, ready time and memory…", flush=True)
    return {
        "overhead": framework.overhead(
            var_dir() / "bench" / "framework",
            events=300 if quick else 2000,
            runs=1 if quick else 5,
            growth_events=1500 if quick else 10_000,
        ),
        "ready": framework.ready(var_dir() / "bench" / "ready", runs=2 if quick else 5),
        "handle_us": framework.handle_cost(runs=1 if quick else 3),
    }


def only(section: str, *, quick: bool) -> int:
    """Re-measure one section into the last results.json and rewrite the report from it."""
    path = var_dir() / "bench" / "results.json"
    results = json.loads(path.read_text()) if path.is_file() else None
    if results is None or results["quick"] != quick:
        kind = "quick" if quick else "full"
        print(f"--only needs a {kind} {path} from an earlier run of every section", file=sys.stderr)
        return 2
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if section == "framework":
        results["apps"] = {**_framework(quick=quick), "generated": generated}
    elif section == "stripe":
        results["stripe"] = {**_stripe(quick=quick), "generated": generated}
    elif section == "pubsub":
        results["pubsub"] = {**_pubsub(quick=quick), "generated": generated}
    elif section == "dashboard":
        results["dashboard"] = {**_dashboard(quick=quick), "generated": generated}
    else:
        print("receipt rendering against ReportLab…", flush=True)
        results["receipt"] = {
            **receipt_render.section(quick=quick),
            "pipeline": _pipeline(quick=quick),
            "generated": generated,
        }
    write(results)
    return 0


def _stripe(*, quick: bool) -> dict[str, Any]:
    print("Stripe adapter CPU per charge and intake events per second…", flush=True)
    work = var_dir() / "bench" / "stripe"
    return {
        "charge": stripe_charge.measure(
            work / "charge", charges=100 if quick else 2000, runs=2 if quick else 7
        ),
        "intake": stripe_intake.measure(
            work / "intake", events=100 if quick else 2000, runs=2 if quick else 5
        ),
    }


def _pubsub(*, quick: bool) -> dict[str, Any]:
    print("aggregator events per second, publish overhead…", flush=True)
    began, work = time.perf_counter(), var_dir() / "bench" / "pubsub"
    events = pubsub_events.measure(work / "events", events=300 if quick else 2000, runs=2 if quick else 5)
    publish = pubsub_publish.measure(work / "publish", messages=60 if quick else 500, runs=1 if quick else 5)
    return {"events": events, "publish": publish, "seconds": time.perf_counter() - began}


def _dashboard(*, quick: bool) -> dict[str, Any]:
    print("dashboard tile refresh against open cases, page load in Chromium…", flush=True)
    return dashboard_page.section(var_dir() / "bench" / "dashboard", quick=quick)


def _pipeline(*, quick: bool) -> dict[str, Any]:
    work = var_dir() / "bench" / "receipts"
    return receipt_pipeline.measure(work, samples=8 if quick else 40, count=40 if quick else 300)


def write(results: dict[str, Any]) -> None:
    """results.json, and BENCHMARKS.md (var/bench/BENCHMARKS.md for a quick run)."""
    out = var_dir() / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    target = out / "BENCHMARKS.md" if results["quick"] else project_root() / "BENCHMARKS.md"
    target.write_text(markdown(results))
    print(f"wrote {out / 'results.json'} and {target}")


if __name__ == "__main__":
    sys.exit(main())
