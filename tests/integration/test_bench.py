"""The benches' machinery at toy sizes, so `make bench` keeps working."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from functions.common.tiles import CATALOGUE
from tooling.paths import project_root

RESULTS: dict[str, Any] = {}  # each toy run keeps its results for the report test at the end


def _bench_module(name: str) -> object:
    folder = project_root() / "bench"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))


def test_the_tick_bench_seeds_ticks_and_reports(tmp_path: Path) -> None:
    """Two sizes seeded into daprd's sqlite store; every tick recovers its due cases (the probe checks)."""
    tick_cost = _bench_module("tick_cost")
    results = tick_cost.measure(tmp_path / "work", (50, 500), due=5, runs=2)  # type: ignore[attr-defined]
    assert list(results["sizes"]) == ["50", "500"]
    for size, row in results["sizes"].items():
        # a case, a customer entry and (below ten days of minutes) a due-index entry per open case
        assert row["seed"]["rows"] == 3 * int(size)
        assert 0 < row["tick"]["min"] <= row["tick"]["median"] <= row["tick"]["max"]
        assert row["idle_tick"]["median"] > 0
    assert results["ratio_largest_to_smallest"] > 0
    RESULTS["tick"] = results


def test_the_email_bench_counts_every_mail_and_batch(tmp_path: Path) -> None:
    """Both send paths reach the sink (the bench checks the count) and the webhook queues every batch."""
    email_rate = _bench_module("email_rate")
    sends = email_rate.sends(tmp_path / "email", count=5, runs=1)  # type: ignore[attr-defined]
    assert sends["direct_smtplib"]["median"] > 0
    assert sends["daprd_binding"]["median"] > 0
    assert sends["ratio"] == sends["daprd_binding"]["median"] / sends["direct_smtplib"]["median"]
    hook = email_rate.webhook(tmp_path / "email", batch=5, posts=2, runs=1)  # type: ignore[attr-defined]
    assert hook["events_per_second"]["median"] > 0
    RESULTS["email"] = {"sends": sends, "webhook": hook}


def test_the_framework_bench_measures_both_apps_and_start_up(tmp_path: Path) -> None:
    """CPU per event for the bare and both FunctionApp apps, RSS before and after, a ready time."""
    framework = _bench_module("framework")
    over = framework.overhead(tmp_path / "fw", events=20, runs=1, growth_events=40, warm=20)  # type: ignore[attr-defined]
    assert set(over["cpu_ms_per_event"]) == {"bare", "framework", "framework-quiet"}
    assert over["ratio_quiet"] > 0
    assert all(row["median"] > 0 for row in over["cpu_ms_per_event"].values())
    assert over["rss_growth"]["after_all_mib"] > 0
    ready = framework.ready(tmp_path / "ready", runs=1, functions=("demo_archiver",))  # type: ignore[attr-defined]
    assert 0 < ready["demo_archiver"]["ready_seconds"]["median"] < 30
    assert ready["demo_archiver"]["idle_rss_mib"]["median"] > 10
    RESULTS["apps"] = {"overhead": over, "ready": ready}


def test_the_receipt_pipeline_bench_times_requests_and_drains_backlogs(tmp_path: Path) -> None:
    """Latency from the renderer's log, backlogs drained by 1 and 3 replicas, and its report rows."""
    pipeline = _bench_module("receipt_pipeline")
    result = pipeline.measure(tmp_path / "receipts", samples=2, count=6)  # type: ignore[attr-defined]
    assert 0 < result["latency_seconds"]["min"] <= result["latency_seconds"]["max"] < 30
    assert set(result["throughput"]) == {"1", "3"}
    for replicas, row in result["throughput"].items():
        assert sum(row["per_replica"].values()) == 6
        assert len(row["per_replica"]) <= int(replicas)
        assert row["per_second"] > 0
    text = "\n".join(pipeline.lines(result))  # type: ignore[attr-defined]
    assert "### Receipt pipeline end to end" in text
    assert "receipts/s" in text


def test_the_pubsub_bench_counts_every_event_and_publish(tmp_path: Path) -> None:
    """Each subscriber's group reads every event (the aggregator counts each); each request publishes once.

    The counting baseline makes the aggregator's state calls: a bulk read (counts and gauges keys) and
    one state transaction an event.
    """
    events = _bench_module("pubsub_events").measure(tmp_path / "events", events=100, runs=1, warm=8)  # type: ignore[attr-defined]
    for app in ("aggregator", "bench-counting-subscriber"):
        assert events[app]["state bulk_get aggregates"]["median"] >= 1, app
        assert events[app]["state transaction aggregates"]["median"] == 1, app
        assert "state set aggregates" not in events[app], app
    assert events["ratio"]["aggregator app_ms"] > 0
    publish = _bench_module("pubsub_publish").measure(tmp_path / "publish", messages=6, runs=1, warm=2)  # type: ignore[attr-defined]
    assert publish["published"] == 8
    assert publish["real"]["pubsub_egress domain-events"]["median"] == 1
    RESULTS["pubsub"] = {"events": events, "publish": publish}


def test_the_dashboard_bench_refreshes_every_tile_and_times_the_page(tmp_path: Path) -> None:
    """Counters seeded as the aggregator stores them; each tick reads totals, builds every tile; the page."""
    seed = _bench_module("dashboard_seed")
    today = datetime.now(UTC).date()
    folded = seed.folded(90, today)  # type: ignore[attr-defined]
    assert seed.encoded(seed.shards(90, today)) == folded  # type: ignore[attr-defined]
    assert {name.partition(":")[0] for name in folded} == {"counts", "totals", "gauges"}
    tiles = _bench_module("dashboard_tiles")
    refresh = tiles.measure(tmp_path / "dash", (30, 600), runs=1)  # type: ignore[attr-defined]
    assert {size: row["opened"] for size, row in refresh["seed"].items()} == {"30": 30, "600": 600}
    small, large = refresh["sizes"]["30"], refresh["sizes"]["600"]
    assert small["counters_keys_totals"] == large["counters_keys_totals"]
    assert large["counters_keys_counts"]["median"] <= small["counters_keys_counts"]["median"]  # absent ones
    assert small["counters_read_bytes"]["median"] < large["counters_read_bytes"]["median"]
    stored = refresh["seed"]["600"]
    assert large["counters_read_bytes"]["median"] <= stored["totals_bytes"] + stored["gauges_bytes"]  # no ids
    assert large["state set tiles"]["median"] == len(CATALOGUE)
    assert refresh["as_shipped"]["built"] == len(CATALOGUE)
    page = _bench_module("dashboard_page").measure(tiles.folder(tmp_path / "dash", 600), loads=1)  # type: ignore[attr-defined]
    assert 0 < page["response_end"]["median"] <= page["drawn"]["median"]
    RESULTS["dashboard"] = {"refresh": refresh, "page": page}


def test_the_report_renders_every_section_with_its_verdicts() -> None:
    """BENCHMARKS.md from the toy results names the machine, each goal and each section's figures."""
    assert set(RESULTS) == {"tick", "email", "apps", "pubsub", "dashboard"}, "the toy runs above first"
    report = _bench_module("report")
    results = {
        **RESULTS,
        "generated": "today", "seconds": 1.0, "quick": True,
        "machine": {"cpu": "cpu", "cores": 2, "memory_gib": 1.0, "system": "os", "python": "3", "daprd": "1"},
        "simulate": {"days": 1, "customers": 1, "runs": 1,
                     "seconds": {"median": 1.0, "min": 1.0, "max": 1.0}},
    }  # fmt: skip
    text = report.markdown(results)  # type: ignore[attr-defined]
    for heading in (
        "## Retry tick",
        "## Framework overhead",
        "## Email",
        "## Pub/sub",
        "## Dashboard",
        "## `bindery simulate`",
    ):
        assert text.count(heading) == 1, heading
    assert "Machine: cpu, 2 cores" in text
    assert "| 500 | 1,500 |" in text
    assert "| demo_archiver |" in text
    assert "of the difference in this run" in text
    assert "| 600 | " in text
    assert "every tile drawn" in text
    again = report.markdown({**results, "apps": {**RESULTS["apps"], "generated": "later"}})  # type: ignore[attr-defined]
    assert "Re-measured on later by `bench/run.py --only framework`." in again
