"""BENCHMARKS.md's dashboard section: a tile refresh against open cases, and the page's load in Chromium."""

from __future__ import annotations

import textwrap
from typing import Any

from functions.common.tiles import CATALOGUE

REFRESH_GOAL = 1.2  # issue 19 item 5: the 1,000,000-case refresh at most this many times the 1,000-case one


def dashboard_lines(r: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    """The section from `run.py`'s `dashboard` results (`dashboard_tiles` and `dashboard_page`)."""
    again = (
        [f"Re-measured on {r['generated']} by `bench/run.py --only dashboard`.", ""]
        if "generated" in r
        else []
    )
    took = [f"The section took {r['seconds']:.0f} s.", ""] if "seconds" in r else []
    largest = list(r["refresh"]["sizes"])[-1]
    return ["## Dashboard: a tile refresh against open cases, and the page's load", "", *again,
            *_refresh_lines(r["refresh"], machine), *_page_lines(r["page"], largest), *took]  # fmt: skip


def _wrap(text: str) -> list[str]:
    return [*textwrap.wrap(text, 100, break_on_hyphens=False), ""]


def _ms(figures: dict[str, float], scale: float = 1000) -> str:
    low, mid, high = (figures[key] * scale for key in ("min", "median", "max"))
    return f"{mid:,.1f} ms ({low:,.1f}–{high:,.1f})"


def _calls(row: dict[str, Any]) -> str:
    calls = {
        key.removeprefix("state "): value["median"] for key, value in row.items() if key.startswith("state ")
    }
    return ", ".join(f"{value:.0f} {key}" for key, value in sorted(calls.items()))


def _refresh_lines(t: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    sizes = list(t["sizes"])
    small, large = sizes[0], sizes[-1]
    ratio, rounds = t["ratio"], t["ratio_rounds"]
    intro = (
        f"A full refresh of the {t['warm'][small]['built']} catalogue tiles"
        " (`functions.tile_builder.refresh.tick` over `DaprStateStore`s, every tile due) in the tile"
        " builder's process, through its daprd (app id tile-builder, components/local's sqlite `aggregates`"
        f" and `tiles` stores), over the aggregator's counters of {int(small):,} and of {int(large):,} open"
        " cases. Counters: the cases opened evenly over the 30 days before the run, each with its declined"
        " charge and emails (sent, 90 % delivered, 40 % opened, 10 % clicked, 3 % bounced), 20 % recovered"
        " on a second charge with a receipt, 10 % abandoned, 5 % canceled, a dead letter a thousand cases;"
        " each event's dimensions from the aggregator's `tallies`, its shard from `counters.shard_key`, each"
        " shard a `Counts` v1 with its tallies and the ids it has counted, written straight into daprd's"
        " sqlite table (key prefix `aggregator||`, as daprd stores them: the rows the aggregator would leave"
        " after counting those events one by one, which at a million cases would take hours). Both sizes"
        f" run side by side and take turns, {t['runs']} rounds after a warm-up tick (a round of the smaller"
        f" size is the mean of {t.get('repeat', 1)} ticks: its daprd's CPU is a few 10 ms clock ticks a"
        f" tick); the ratios are the medians of the rounds' own. On {machine['cores']} cores{_load(t)};"
        " CPU is the builder process's own clock (user + system, every thread) and its daprd's from"
        " /proc; state calls from daprd's metrics."
    )
    head = "| open cases | counters stored | builder CPU | its daprd's CPU | wall | keys asked, bytes read |"
    lines = [*_wrap(intro), f"{head} state calls |", "|---:|---|---|---|---|---|---|"]
    for size, row in t["sizes"].items():
        seed = t["seed"][size]
        read = f"{row['counters_keys']['median']:,.0f} keys, {_mb(row['counters_read_bytes']['median'])}"
        lines.append(
            f"| {int(size):,} | {seed['keys']:,} keys, {_mb(seed['bytes'])}, {seed['events']:,} ids"
            f" | {_ms(row['cpu_s'])} | {_ms(row['daprd_cpu_s'])} | {_ms(row['wall_s'])} | {read}"
            f" | {_calls(row)} |"
        )
    cpu = ratio["cpu_s"]
    verdict = "met" if cpu <= REFRESH_GOAL else "missed"
    lines += [
        "",
        *_wrap(
            f"The {int(large):,}-case refresh's builder CPU is {cpu:.1f}× the {int(small):,}-case one"
            f" (rounds: {_list(rounds['cpu_s'])}); goal ≤ {REFRESH_GOAL}×: {verdict}. Its daprd's CPU"
            f" {ratio['daprd_cpu_s']:.1f}× ({_list(rounds['daprd_cpu_s'])}), the wall time"
            f" {ratio['wall_s']:.1f}× ({_list(rounds['wall_s'])})."
        ),
        *_wrap(_why(t, small, large)),
        *_wrap(_shipped(t, large)),
    ]
    return lines


def _why(t: dict[str, Any], small: str, large: str) -> str:
    row, seed = t["sizes"][large], t["seed"][large]
    share = row["counters_read_bytes"]["median"] / seed["bytes"] if seed["bytes"] else 0.0
    return (
        "Why: a refresh reads the same keys at either size (each topic's 16 shard keys a day, for the days"
        f" its tiles cover: {row['counters_keys']['median']:,.0f} keys in"
        f" {row['counters_reads']['median']:.0f} bulk reads), but each shard keeps, beside its few tallies,"
        " the ids of every event it has counted, so the bytes a tile reads grow with the events a day."
        f" At {int(large):,} open cases a refresh reads {_mb(row['counters_read_bytes']['median'])}"
        f" ({share:.0%} of the counters stored), against"
        f" {_mb(t['sizes'][small]['counters_read_bytes']['median'])} at {int(small):,}, and almost"
        " all of it is event ids the builder parses (pydantic) and throws away; the tallies themselves are"
        f" {_mb(seed['tally_bytes'])} of the {_mb(seed['bytes'])} stored at {int(large):,}. The fix is in"
        " the aggregator's layout: the tallies in keys of their own (`totals:{topic}:{day}:{shard}`),"
        " written in one state transaction with the shard's ids (Dapr's `ExecuteStateTransaction`,"
        " which sqlite and PostgreSQL support, the ETag on the ids key guarding both), so a tile reads"
        " only the tallies and a refresh costs about the same at any size."
    )


def _shipped(t: dict[str, Any], large: str) -> str:
    shipped = t["as_shipped"]
    figures = (
        "The figures above raise the gRPC message limit of the builder's Dapr client and of its daprd"
        f" (`--max-body-size`) to {t['max_message'] >> 20:,} MiB. With both as they ship (4 MiB), a"
        f" {int(large):,}-case refresh built {shipped['built']} of the {len(CATALOGUE)} tiles"
    )
    if not shipped["failed"]:
        return figures + "."
    built = [spec.id for spec in CATALOGUE if spec.id not in shipped["failed"]]
    tile, error = next(iter(sorted(shipped["failed"].items())))
    return (
        f"{figures} ({', '.join(built) or 'none'}); the other {len(shipped['failed'])} failed, e.g. {tile}:"
        f" “{error[:170]}”. A bulk read of a topic's days answers more than 4 MiB once those days hold"
        " some 90,000 counted events (their ids, about 45 bytes each: 3,000 a day over 30 days): past"
        " that, the tiles of a busy topic are not built at all until the layout changes (or the limits"
        " are raised)."
    )


def _page_lines(p: dict[str, Any], size: str) -> list[str]:
    first = p["first_load"]
    intro = (
        "The page in headless Chromium (Debian's, through chromedriver, as `tooling/browser.py` drives it)"
        " from the dashboard app and its daprd over the `tiles` store the builder filled from the"
        f" {int(size):,}-case counters, {p['tiles']} tiles: {p['loads']} navigations after a first{_load(p)},"
        " each timed on the page's own clock (`performance.now()`, from navigation start) by a script"
        " added before the page's own, which marks the moment the last tile leaves `loading` (the page"
        " sets its state once the tile is drawn) and the next animation frame. Every file is answered"
        " `no-store`: each load fetches the page, then its script and style, the catalogue and each tile"
        f" ({p['requests']} requests)."
    )
    return [
        *_wrap(intro),
        "| from navigation start | median (min–max) |",
        "|---|---|",
        f"| every tile drawn | {_ms(p['drawn'], 1)} |",
        *([f"| the frame after | {_ms(p['frame'], 1)} |"] if "frame" in p else []),
        f"| page's response end | {_ms(p['response_end'], 1)} |",
        f"| DOMContentLoaded done | {_ms(p['dom_content_loaded'], 1)} |",
        f"| load done | {_ms(p['load'], 1)} |",
        "",
        *_wrap(
            f"The browser's first load (new profile, before the measured ones): every tile drawn at"
            f" {first['drawn']:,.0f} ms."
        ),
    ]


def _load(r: dict[str, Any]) -> str:
    if "load_before" not in r:
        return ""
    return f" (the machine's 1-minute load average before it started: {r['load_before']:.2f})"


_KB_UNTIL = 1e5  # bytes: from here on shown in MB


def _mb(count: float) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= _KB_UNTIL else f"{count / 1e3:,.1f} kB"


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)
