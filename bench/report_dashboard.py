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
    layered = "totals_keys" in t["seed"][small]  # results of the counts + totals layout (issue 19)
    intro = (
        f"A full refresh of the {t['warm'][small]['built']} catalogue tiles"
        " (`functions.tile_builder.refresh.tick` over `DaprStateStore`s, every tile due) in the tile"
        " builder's process, through its daprd (app id tile-builder, components/local's sqlite `aggregates`"
        f" and `tiles` stores), over the aggregator's counters of {int(small):,} and of {int(large):,} open"
        f" cases. {_seeded(layered=layered)} Both sizes run side by side and take turns, {t['runs']} rounds"
        f" after a warm-up tick (a round of the smaller size is the mean of {t.get('repeat', 1)} ticks: its"
        " daprd's CPU is a few 10 ms clock ticks a tick); the ratios are the medians of the rounds' own. On"
        f" {machine['cores']} cores{_load(t)}; CPU is the builder process's own clock (user + system, every"
        " thread) and its daprd's from /proc; state calls from daprd's metrics."
    )
    head = "| open cases | counters stored | builder CPU | its daprd's CPU | wall | keys asked, bytes read |"
    lines = [*_wrap(intro), f"{head} state calls |", "|---:|---|---|---|---|---|---|"]
    for size, row in t["sizes"].items():
        seed = t["seed"][size]
        read = f"{_keys(row)}, {_mb(row['counters_read_bytes']['median'])}"
        lines.append(
            f"| {int(size):,} | {_stored(seed)} | {_ms(row['cpu_s'])} | {_ms(row['daprd_cpu_s'])}"
            f" | {_ms(row['wall_s'])} | {read} | {_calls(row)} |"
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


def _seeded(*, layered: bool) -> str:
    """What the counters seeded hold, in the layout the results were measured with."""
    if not layered:
        return (
            "Counters: the cases opened evenly over the 30 days before the run, each with its declined"
            " charge and emails (sent, 90 % delivered, 40 % opened, 10 % clicked, 3 % bounced), 20 %"
            " recovered on a second charge with a receipt, 10 % abandoned, 5 % canceled, a dead letter a"
            " thousand cases; each event's dimensions from the aggregator's `tallies`, its shard from"
            " `counters.shard_key`, each shard a `Counts` v1 with its tallies and the ids it has counted,"
            " written straight into daprd's sqlite table (key prefix `aggregator||`, as daprd stores them:"
            " the rows the aggregator would leave after counting those events one by one, which at a"
            " million cases would take hours)."
        )
    return (
        "Counters: the cases opened evenly over the 30 days before the run, each with its declined first"
        " retry and emails (sent, 90 % delivered, 40 % opened, 10 % clicked, 3 % bounced), 20 % recovered"
        " on a second retry three days after the failure with a receipt (two thirds of them after a"
        " reminder email, sent and delivered), 10 % abandoned and 5 % canceled after the first, the rest"
        " still open; a dead letter a thousand cases. The dunning events are version 2 (the case's step:"
        " the charges answered so far; the last email step before a close; the failure's time), so they"
        " count under the step, recovered-after and recovered-hours dimensions too and move the open-cases"
        " gauges. Each event's dimensions and gauge moves come from the aggregator's `tallies`, its shard"
        " from `counters.shard`, and the rows are those `counters.count` leaves"
        " (`functions/common/aggregates.py`): per topic, day and shard a counts key (`Counts` v1: the"
        " tallies and the ids counted, which only the aggregator reads) and a totals key (`Totals` v1: the"
        " tallies alone, which the tiles read; written in the same state transaction), and per shard the"
        " dunning topic's all-time gauges (`Levels` v1). They are written straight into daprd's sqlite"
        " table (key prefix `aggregator||`, as daprd stores them: at a million cases, counting the events"
        " one by one would take hours; `dashboard_seed.folded` checks the same rows come out of"
        " `counters.count` at small sizes)."
    )


def _stored(seed: dict[str, Any]) -> str:
    """The counters seeded: every key, and the totals keys (what tiles read) among them."""
    if "totals_keys" not in seed:  # results from before the totals keys
        return f"{seed['keys']:,} keys, {_mb(seed['bytes'])}, {seed['events']:,} ids"
    return (
        f"{seed['keys']:,} keys, {_mb(seed['bytes'])}, {seed['events']:,} ids; of them totals"
        f" {seed['totals_keys']:,} keys, {_mb(seed['totals_bytes'])}"
    )


def _keys(row: dict[str, Any]) -> str:
    """Keys a refresh asks for, by kind when the results have them."""
    keys = f"{row['counters_keys']['median']:,.0f} keys"
    kinds = [(kind, row[f"counters_keys_{kind}"]["median"]) for kind in ("totals", "counts", "gauges")
             if f"counters_keys_{kind}" in row]  # fmt: skip
    shown = ", ".join(f"{count:,.0f} {kind}" for kind, count in kinds if count)
    return f"{keys} ({shown})" if shown else keys


def _why(t: dict[str, Any], small: str, large: str) -> str:
    row, seed = t["sizes"][large], t["seed"][large]
    low = t["sizes"][small]
    if "totals_keys" not in seed:  # results from before the totals keys: the old explanation
        return _why_ids(t, small, large)
    share = row["counters_read_bytes"]["median"] / seed["bytes"] if seed["bytes"] else 0.0
    fallback = row.get("counters_keys_counts", {"median": 0.0})["median"]
    fallback_small = low.get("counters_keys_counts", {"median": 0.0})["median"]
    gauges = row.get("counters_keys_gauges", {"median": 0.0})["median"]
    return (
        "What a refresh reads: for each topic, the totals keys of the days its tiles cover (16 a day);"
        " then the counts key of each shard that has no totals key (the fallback for shards counted before"
        " the totals keys existed; here nothing was counted in that shard that day, so the counts key is"
        " absent as well; after a process's first refresh only today's and yesterday's are read again,"
        " settled days' being remembered, `aggregates.Earlier`):"
        f" {fallback_small:,.0f} such keys at {int(small):,} cases, {fallback:,.0f} at {int(large):,};"
        f" and {gauges:,.0f} gauges keys."
        f" {row['counters_keys']['median']:,.0f} keys in {row['counters_reads']['median']:.0f} bulk reads at"
        f" {int(large):,} cases, {low['counters_keys']['median']:,.0f} in"
        f" {low['counters_reads']['median']:.0f} at {int(small):,}. The ids each shard has counted stay in"
        f" its counts key, which only the aggregator reads: at {int(large):,} open cases a refresh reads"
        f" {_mb(row['counters_read_bytes']['median'])} ({share:.1%} of the {_mb(seed['bytes'])} of counters"
        f" stored, whose totals keys hold {_mb(seed['totals_bytes'])}), against"
        f" {_mb(low['counters_read_bytes']['median'])} at {int(small):,}: a totals key holds one"
        " `[count, amount]` pair per dimension counted in its shard that day, so it grows with the"
        " dimensions a day (decline codes, recovery hours…) until each shard has them all, not with the"
        " events."
    )


def _why_ids(t: dict[str, Any], small: str, large: str) -> str:
    """Results of the layout before issue 19's totals keys (each shard one key, with its ids)."""
    row, seed = t["sizes"][large], t["seed"][large]
    share = row["counters_read_bytes"]["median"] / seed["bytes"] if seed["bytes"] else 0.0
    return (
        "Why: with the counters' layout measured here, each shard one key holding its tallies and the ids"
        " of every event it has counted, a refresh reads the same keys at either size"
        f" ({row['counters_keys']['median']:,.0f} keys in {row['counters_reads']['median']:.0f} bulk reads)"
        " but the bytes grow with the events a day. At"
        f" {int(large):,} open cases a refresh reads {_mb(row['counters_read_bytes']['median'])}"
        f" ({share:.0%} of the counters stored), against"
        f" {_mb(t['sizes'][small]['counters_read_bytes']['median'])} at {int(small):,}, almost all of it"
        f" event ids; the tallies themselves are {_mb(seed['tally_bytes'])} of the {_mb(seed['bytes'])}."
    )


def _shipped(t: dict[str, Any], large: str) -> str:
    shipped = t["as_shipped"]
    total = shipped["built"] + len(shipped["failed"])  # the catalogue of the run, not today's
    figures = (
        "The figures above raise the gRPC message limit of the builder's Dapr client and of its daprd"
        f" (`--max-body-size`) to {t['max_message'] >> 20:,} MiB. With both as they ship (4 MiB), a"
        f" {int(large):,}-case refresh built {shipped['built']} of the {total} tiles"
    )
    if not shipped["failed"]:
        return figures + ": every bulk read it makes answers under 4 MiB."
    built = [spec.id for spec in CATALOGUE if spec.id not in shipped["failed"]]
    named = f" ({', '.join(built) or 'none'})" if len(built) == shipped["built"] else ""
    tile, error = next(iter(sorted(shipped["failed"].items())))
    return (
        f"{figures}{named}; the other {len(shipped['failed'])} failed, e.g. {tile}: “{error[:170]}”: a bulk"
        " read of a topic's days answered more than 4 MiB, and those tiles are not built at all while it"
        " does (or until the limits are raised)."
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
