"""The Stripe bench section at toy size: both charge paths, the intake against its health answer, report."""

from __future__ import annotations

import re
import statistics
from typing import TYPE_CHECKING, Any

import pytest

from tests.tools.benches import bench_module

if TYPE_CHECKING:
    from collections.abc import Mapping

CHARGES, EVENTS, RUNS = 20, 10, 2
MACHINE = {"cpu": "cpu", "cores": 2, "memory_gib": 1.0, "system": "os", "python": "3", "daprd": "1"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One toy run of the section (`run.py`'s `stripe` results), shared by the tests below."""
    charge = bench_module("stripe_charge").measure(
        tmp_path_factory.mktemp("charge"), charges=CHARGES, runs=RUNS, top=5
    )
    intake = bench_module("stripe_intake").measure(
        tmp_path_factory.mktemp("intake"), events=EVENTS, runs=RUNS, clients=2
    )
    return {"charge": charge, "intake": intake}


def _ordered(figures: Mapping[str, float]) -> bool:
    return figures["min"] <= figures["median"] <= figures["max"]


def test_both_charge_paths_cost_cpu_and_the_ratio_is_the_rounds_median(results: dict[str, Any]) -> None:
    """Each path has a positive CPU and wall time a charge; the ratio is the median of the rounds' ratios."""
    charge = results["charge"]
    assert (charge["charges"], charge["runs"], charge["goal"]) == (CHARGES, RUNS, 1.2)
    assert (
        set(charge["cpu_ms_per_charge"])
        == set(charge["wall_ms_per_charge"])
        == {"bare", "transport", "adapter"}
    )
    for path in ("bare", "transport", "adapter"):
        assert charge["cpu_ms_per_charge"][path]["min"] > 0
        assert _ordered(charge["cpu_ms_per_charge"][path])
        assert charge["wall_ms_per_charge"][path]["min"] > 0
        assert (
            0 < charge["thread_cpu_ms_per_charge"][path]["median"] <= charge["cpu_ms_per_charge"][path]["max"]
        )
    assert len(charge["ratio_rounds"]) == RUNS
    assert charge["ratio"] == statistics.median(charge["ratio_rounds"])
    assert all(ratio > 0 for ratio in charge["ratio_rounds"])


def test_the_adapter_profile_names_its_steps_and_top_functions(results: dict[str, Any]) -> None:
    """The steps are timed in place and alone, a real answer's size kept; cProfile lists at most five."""
    profile = results["charge"]["profile"]
    steps = profile["steps"]
    for step in ("build", "send", "read", "alone_build", "alone_read"):
        assert steps[f"{step}_us"] > 0, step
    assert steps["answer_bytes"] > 100  # a PaymentIntent's JSON
    assert 0 < len(profile["top"]) <= 5
    assert all(0 < row["share"] <= 1 and row["calls_per_charge"] > 0 for row in profile["top"])


def test_the_intake_queues_every_signed_event_and_answers_health(results: dict[str, Any]) -> None:
    """Every event and health request was answered as expected; each event reached the queue."""
    intake = results["intake"]
    assert intake["queued"] == EVENTS + RUNS * EVENTS  # the warm-up's and each round's
    for kind in ("event", "health"):
        assert intake[kind]["per_second"]["min"] > 0
        assert _ordered(intake[kind]["per_second"])
        assert intake[kind]["app_ms"]["min"] >= 0  # /proc counts in clock ticks: a toy round may show 0
        assert intake[kind]["daprd_ms"]["min"] >= 0


def test_the_report_shows_both_figures_the_baselines_and_the_goal(results: dict[str, Any]) -> None:
    """The section names the baselines, the ratio, the goal (1.2 times) and its verdict, the cores."""
    text = "\n".join(bench_module("report_stripe").stripe_lines(results, MACHINE))
    assert text.count("## Stripe: charges through the adapter, events through the intake") == 1
    assert "| bare `invoke_binding`, prebuilt request (baseline) |" in text
    assert "| `DaprStripeTransport.send`, prebuilt `StripeRequest` |" in text
    assert "| `GET /healthz` (baseline) |" in text
    assert f"Ratio {results['charge']['ratio']:.2f}" in text
    verdict = "met" if results["charge"]["ratio"] <= 1.2 else "missed"
    flowing = " ".join(text.split())  # the paragraph is wrapped at 100 columns wherever its figures fall
    straddling = "( by the median, but the rounds straddle the goal|\\.)"
    assert re.search(rf"Goal ≤ 1\.2.: {verdict}{straddling}", flowing)
    assert "on\n2 cores (cpu)" in text
    again = "\n".join(bench_module("report_stripe").stripe_lines({**results, "generated": "later"}, MACHINE))
    assert "Re-measured on later by `bench/run.py --only stripe`." in again
