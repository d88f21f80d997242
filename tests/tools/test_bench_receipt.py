"""The receipt render bench at toy size: both renderers, every figure, and its BENCHMARKS.md section."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.tools.benches import bench_module


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One toy run of the section, shared by the tests below."""
    bench = bench_module("receipt_render")
    figures = bench.measure(
        samples=2, page_samples=1, pages=(1, 2), shaping_samples=1, renders=2, page_renders=1
    )
    app = bench.app(tmp_path_factory.mktemp("ready"), runs=1, warm_after=1.5)
    return {**figures, "app": app}


def test_the_one_page_receipt_is_timed_on_both_renderers(results: dict[str, Any]) -> None:
    """Both p50s are positive, the ratio is fpdf2's over ReportLab's, and each drew one page."""
    one = results["one_page"]
    assert one["fpdf2"]["median"] > 0
    assert one["reportlab"]["median"] > 0
    assert one["ratio"] == one["fpdf2"]["median"] / one["reportlab"]["median"]
    assert one["pages"] == {"fpdf2": 1, "reportlab": 1}
    assert one["lines"] == 5


def test_invoices_fill_the_same_pages_on_both_renderers(results: dict[str, Any]) -> None:
    """The 1- and 2-page invoices have as many pages from each renderer; the extra page's cost is derived."""
    pages = results["per_page"]
    assert {size: row["pages"] for size, row in pages["sizes"].items()} == {
        "1": {"fpdf2": 1, "reportlab": 1},
        "2": {"fpdf2": 2, "reportlab": 2},
    }
    extra = pages["per_extra_page"]["2"]
    for side in ("fpdf2", "reportlab"):
        two, one = pages["sizes"]["2"][side]["median"], pages["sizes"]["1"][side]["median"]
        assert extra[side] == two - one
    assert extra["ratio"] == extra["fpdf2"] / extra["reportlab"]


def test_shaping_runs_only_for_the_joining_and_right_to_left_scripts(results: dict[str, Any]) -> None:
    """Arabic and Hebrew names shape, Latin and CJK do not; CJK adds its fallback; Latin is the unit."""
    scripts = results["shaping"]["scripts"]
    assert {name: row["shaping"] for name, row in scripts.items()} == {
        "latin": False, "arabic": True, "hebrew": True, "cjk": False,
    }  # fmt: skip
    assert scripts["cjk"]["fallbacks"]
    assert all(name.startswith("cjk") for name in scripts["cjk"]["fallbacks"])  # slices of the CJK font
    assert scripts["latin"]["ratio_to_latin"] == 1.0
    assert all(row["seconds"]["median"] > 0 for row in scripts.values())


def test_the_profiles_name_functions_without_machine_paths(results: dict[str, Any]) -> None:
    """Both profiles: eight functions by falling cumulative time, no machine paths, a share of a package."""
    receipts, invoices = results["profile"], results["page_profile"]
    fonts = "embed.py + truetype.py + fontTools"  # the font code as a whole: ours and fontTools
    assert (receipts["package"], invoices["package"], invoices["pages"]) == (fonts, fonts, 2)
    for profile in (receipts, invoices):
        times = [row["cumulative_seconds"] for row in profile["top"]]
        assert len(times) == 8
        assert times == sorted(times, reverse=True)
        assert not any(row["function"].startswith("/") for row in profile["top"])
        assert 0 < profile["package_share"] < 1
    ours = ("functions/receipt_render/", "fontTools/")
    assert all(row["function"].startswith(ours) for row in receipts["package_top"])


def test_the_renderer_process_is_measured_ready_and_warm(results: dict[str, Any]) -> None:
    """Ready time, RSS at one second and after the warm-up, and the load steps up to the last font."""
    app = results["app"]
    assert 0 < app["ready_seconds"]["median"] < 30
    assert app["warm_rss_mib"]["median"] > 10
    steps = [row["step"] for row in app["stages"]]
    assert steps[0] == "interpreter"
    assert steps[-1].startswith("fonts: hebrew")  # the last family warmed; CJK slices come on use
    assert app["stages"][-1]["rss_mib"] > app["stages"][0]["rss_mib"]


def test_the_section_states_each_goal_and_its_verdict(results: dict[str, Any]) -> None:
    """The BENCHMARKS.md section has the tables, each goal with met or missed, and the profile."""
    text = "\n".join(bench_module("report_receipt").receipt_lines(results))
    assert text.startswith("## Receipt rendering")
    for goal in ("at most 1.5\N{MULTIPLICATION SIGN} ReportLab", "p50 ≤ 5 ms", "≤ 0.5 s", "≤ 96 MB"):
        assert goal in text, goal
    assert text.count("| fpdf2, our pipeline |") == 1
    assert "| 46 | 2 / 2 |" in text
    assert "Each page beyond the first: from 1 to 2 pages fpdf2 " in text
    assert re.search(r"Against the 1\.5\N{MULTIPLICATION SIGN} goal: (?:met|missed)\.", text)
    assert "Profile of the 2-page invoice (1 renders)" in text
    assert "subsetting dominates — " in text
    assert "| Arabic: " in text
    assert len(re.findall(r", (?:met|missed)[;.]", text)) == 2  # the ratio and the p50
    assert len(re.findall(r"\| (?:met|missed) \|", text)) == 3  # ready, RSS at 1 s and after the warm-up


def test_the_worst_valid_invoice_is_rendered_per_script_against_the_visibility_timeout() -> None:
    """Each script renders in its own process; its share is its wall time over the smaller timeout."""
    worst = bench_module("worst_case")
    figures = worst.measure(lines=2)
    limit = min(figures["timeouts"].values())
    assert figures["timeouts"]["local"] == float(worst.DEFAULTS["QUEUE_VISIBILITY_TIMEOUT"].removesuffix("s"))
    assert set(figures["scripts"]) == set(worst.ALPHABETS)
    for row in figures["scripts"].values():
        assert row["cpu"] > 0
        assert row["pages"] >= 1
        assert row["share"] == row["wall"] / limit
    section = "\n".join(bench_module("report_receipt")._worst_lines(figures))  # noqa: SLF001
    assert all(f"| {script} |" in section for script in worst.ALPHABETS)


def test_the_worst_invoice_holds_every_text_field_at_its_validated_maximum() -> None:
    """The order validates, and its name, address lines and descriptions are as long as validation allows."""
    from functions.receipt_render import fields, invoice  # noqa: PLC0415

    worst = bench_module("worst_case")
    for script in worst.ALPHABETS:
        order = invoice.Order.model_validate(worst.order(script, 10_000))
        assert len(order.lines) == fields.MAX_LINES
        assert len(order.customer.name) == 200
        assert len(order.customer.address) == 6
        assert all(len(line) == 300 for line in order.customer.address)
        assert all(len(line.description) == 200 for line in order.lines)
