"""Where the aggregator's app CPU goes per event: cProfile over rounds of `pubsub_events`' DunningEvents.

`python bench/pubsub_profile.py [--events N] [--rounds R] [--top K]` runs the aggregator under
`apps/aggregator_profile.py` behind its daprd (the pub/sub bench's components and events, each round
on a day of its own), then prints cProfile's top functions by own time and the cumulative time of the
aggregator's own steps, each per event (µs; cProfile's overhead inflates every figure, shares hold).
Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import pstats
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import pubsub_events
from pubsub_events import _FIRST_DAY, components, one_round

from functions.common import names
from tooling.paths import project_root
from tooling.sidecar import AppSpec
from tooling.stack import Stack, StackConfig

HERE = Path(__file__).parent


def main() -> None:
    """Profile, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pubsub-profile-"))
    out = work / "aggregator.pstats"
    env = {"PYTHONPATH": f"{HERE / 'apps'}:{project_root()}", "BENCH_PROFILE": str(out)}
    spec = AppSpec(names.AGGREGATOR, "aggregator_profile", env=env)
    pubsub_events.TOPICS = {names.AGGREGATOR: "dunning"}
    try:
        with Stack(StackConfig(root=work / "stack", apps=[spec], components=components(work))) as stack:
            for run in range(args.rounds):
                one_round(stack, names.AGGREGATOR, _FIRST_DAY + timedelta(days=run), run, args.events)
        events = args.events * args.rounds
        stats = pstats.Stats(str(out))
        rows = stats.stats  # type: ignore[attr-defined]
        total = sum(row[2] for row in rows.values())
        print(f"{events} events; profiled CPU {total / events * 1e6:.0f} µs an event")
        print("own time, µs an event:")
        for func, row in sorted(rows.items(), key=lambda kv: -kv[1][2])[: args.top]:
            where = f"{Path(func[0]).name}:{func[1]}"
            print(f"  {row[2] / events * 1e6:7.1f}  {row[1] / events:5.2f} calls  {func[2]} ({where})")
        print("cumulative, µs an event (the project's functions, pydantic's JSON):")
        for func, row in sorted(rows.items(), key=lambda kv: -kv[1][3]):
            ours = "site-packages" not in func[0] and str(project_root()) in func[0]
            if ours or func[2] in {"model_validate_json", "model_dump_json"}:
                where = f"{Path(func[0]).parent.name}/{Path(func[0]).name}"
                print(f"  {row[3] / events * 1e6:7.1f}  {row[1] / events:5.2f} calls  {func[2]} ({where})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
