"""BENCHMARKS.md's pub/sub section: the aggregator against two baselines, and publishing's cost."""

from __future__ import annotations

import textwrap
from typing import Any

AGGREGATOR_GOAL, PUBLISH_GOAL = 1.3, 1.10  # issue 18 item 6


def pubsub_lines(r: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    """The section from `run.py`'s `pubsub` results (`pubsub_events` and `pubsub_publish`)."""
    again = (
        [f"Re-measured on {r['generated']} by `bench/run.py --only pubsub`.", ""] if "generated" in r else []
    )
    took = [f"The section took {r['seconds']:.0f} s.", ""] if "seconds" in r else []
    return ["## Pub/sub: the aggregator's events, and what publishing costs", "", *again,
            *_event_lines(r["events"], machine), *_publish_lines(r["publish"]), *took]  # fmt: skip


def _wrap(text: str) -> list[str]:
    return [*textwrap.wrap(text, 100, break_on_hyphens=False), ""]


def _verdict(ratio: float, goal: float, rounds: list[float]) -> str:
    if ratio > goal:
        return "missed"
    return "met, though some rounds were above it" if max(rounds) > goal else "met"


def _calls(row: dict[str, Any]) -> str:
    def per_event(name: str, *, failed: bool = False) -> float:
        key = f"state {name} aggregates" + (" failed" if failed else "")  # as `pubsub_events.daprd_calls`
        return float(row.get(key, {"median": 0.0})["median"])

    if "state transaction aggregates" not in row:  # results from before the state transaction
        gets, sets, lost = per_event("get"), per_event("set"), per_event("set", failed=True)
        return f"{gets:.2f} reads, {sets:.2f} ETag writes and {lost:.2f} lost races"
    reads, bulk = per_event("get"), per_event("bulk_get")
    done, lost = per_event("transaction"), per_event("transaction", failed=True)
    return (
        f"{reads:.2f} single and {bulk:.2f} bulk reads, {done:.2f} transactions and {lost:.2f} lost"
        " (rolled back)"
    )


def _event_lines(e: dict[str, Any], machine: dict[str, Any]) -> list[str]:
    agg, bare, plain = e["aggregator"], e["bench-bare-subscriber"], e["bench-aggregator-no-store"]
    counting = e["bench-counting-subscriber"]
    ratio, rounds = e["ratio"], e["ratio_rounds"]
    cpu = rounds["counting app_ms"]
    shards = e.get("shards", 16)  # counters.SHARDS, in results since it moved
    transacted = "state transaction aggregates" in agg  # results of the counts + totals (+ gauges) layout
    intro = (
        f"DunningEvents through Redis (`pubsub.redis`, the `domain-events` component of components/local:"
        f" 4 deliveries at once, 10 buffered) and each subscriber's daprd. A round XADDs {e['events']:,}"
        " events onto the subscriber's topic in one pipelined write, in the envelope daprd writes, and"
        " ends when its consumer group has read the last with none pending (daprd acknowledges after the"
        f" app answers); rounds: {e['runs']}, after a warm-up of {e['warm']}, the subscribers taking turns,"
        f" each round counted under a day of its own {_fresh(shards, e['events'], transacted=transacted)}"
        f" with ids never seen before.{_events(transacted=transacted)} On"
        f" {machine['cores']} cores ({machine['cpu']}) shared with Redis, the daprds and the publisher"
        f"{_load(e)}; CPU is user+system time from /proc over the round. Each subscriber has a topic of its"
        " own on the same component, so no round is another's backlog."
    )
    baselines = (
        "Two baselines. The counting subscriber (`bench/apps/counting_subscriber.py`) is hand-written: a"
        " bare gRPC AppCallback server, no FunctionApp, no pydantic, doing the work any aggregator must to"
        f" count an event once: {_counting(transacted=transacted)} The goal is read against it: it judges"
        " the overhead of our code (FunctionApp, pydantic, the counters' model), not the store's work that"
        " counting needs anyway. The bare subscriber (`bench/apps/bare_subscriber.py`) answers SUCCESS"
        " without reading the event: against it the figures show what counting in the store costs at all."
        " The middle row is the aggregator with `counters.count` answering at once"
        " (`bench/apps/aggregator_variant.py`): FunctionApp's topic path (the CloudEvent's data into a"
        f" `DunningEvent`, its dimensions{' and gauge moves' if transacted else ''}, a JSON log line)"
        " without the store."
    )
    return [
        *_wrap(intro),
        *_wrap(baselines),
        "| subscriber | events per second | app CPU per event | its daprd's CPU per event |",
        "|---|---|---|---|",
        _row("bare subscriber, SUCCESS unread (no-op baseline)", bare),
        _row("FunctionApp topic path, counting taken out", plain),
        _row("counting subscriber, hand-written (the goal's baseline)", counting),
        _row("aggregator (`functions/aggregator/app.py`)", agg),
        "",
        *_wrap(
            f"Aggregator CPU per event {ratio['counting app_ms']:.2f}× the counting subscriber's (the median"
            f" of the rounds' own ratios: {_list(cpu)}). Goal ≤ {AGGREGATOR_GOAL}×:"
            f" {_verdict(ratio['counting app_ms'], AGGREGATOR_GOAL, cpu)}. Its events per second are"
            f" {ratio['counting per_second']:.2f}× the counting subscriber's, its daprd's CPU per event"
            f" {ratio['counting daprd_ms']:.2f}×. State calls per event through daprd to the sqlite"
            f" `aggregates` store: the aggregator {_calls(agg)}; the counting subscriber {_calls(counting)}"
            f" ({_lost(transacted=transacted)})."
        ),
        *_wrap(
            f"Against the no-op bare subscriber the aggregator's CPU per event is"
            f" {ratio['aggregator app_ms']:.2f}× ({_list(rounds['aggregator app_ms'])}) and the counting"
            f" subscriber's {ratio['counting_bare app_ms']:.2f}× ({_list(rounds['counting_bare app_ms'])}):"
            f" what counting once costs, {_costs(transacted=transacted)}. FunctionApp's"
            f" topic path alone is {ratio['no_store app_ms']:.2f}× the bare subscriber"
            f" ({_list(rounds['no_store app_ms'])}); counting in the store makes the aggregator"
            f" {ratio['store app_ms']:.2f}× that path ({_list(rounds['store app_ms'])})."
        ),
    ]


def _fresh(shards: int, events: int, *, transacted: bool) -> str:
    if not transacted:
        return (
            f"(so the counters' {shards} shard keys start empty, and end holding {events / shards:.0f}"
            " event ids each)"
        )
    return (
        f"(so the {shards} shards' counts and totals keys start empty, and the counts keys end holding"
        f" {events / shards:.0f} event ids each; the dunning gauges are all-time, the same {shards} keys"
        " every round)"
    )


def _events(*, transacted: bool) -> str:
    if not transacted:
        return ""
    return (
        " The events are version 2 DunningEvents (with the case's `step`, the failure's time, a recovery's"
        " last email step), in turn a case opened, a declined charge, a paid one and a recovery: each"
        " moves the open-cases gauges, so counting one is a read of two keys (the shard's counts key and"
        " its gauges key, one bulk read) and a state transaction of three (counts, totals, gauges), as"
        " `functions/aggregator/counters.py` does."
    )


def _counting(*, transacted: bool) -> str:
    if not transacted:
        return (
            "the CloudEvent's data parsed with `json`, the shard key read through the Dapr SDK's gRPC"
            " client, the event id checked, the dimension tallies and the id added, the shard written back"
            " with its ETag (first-write, strong, as `DaprStateStore`), read and written again after a lost"
            " race. Same shard layout (`functions/common/aggregates.py`), same store, so the same state"
            " traffic."
        )
    return (
        "the CloudEvent's data parsed with `json`, the shard's counts key and its gauges key read in one"
        " bulk read through the Dapr SDK's gRPC client, the event id checked, the dimension tallies, the id"
        " and the gauge moves added, and the counts, totals and gauges keys written in one"
        " `ExecuteStateTransaction` through the SDK's raw gRPC stub with the aggregator's guards (as"
        " `DaprStateStore.transact`: the counts and gauges keys first-write with the ETags they were read"
        " with, insert-only when absent, the totals key last-write; strong), all read and written again"
        " after a lost guard. Same keys (`functions/common/aggregates.py`), same store, same calls, so the"
        " same state traffic."
    )


def _lost(*, transacted: bool) -> str:
    if not transacted:
        return (
            "a lost race: a write that lost the ETag race to a concurrent delivery on the same shard, read"
            " and written again"
        )
    return (
        "a lost one: a transaction whose ETag guard lost to a concurrent delivery on the same shard or"
        " gauges key, rolled back whole, then read and written again"
    )


def _costs(*, transacted: bool) -> str:
    if not transacted:
        return (
            "two gRPC round trips to daprd, the shard's JSON read and written whole (its tallies and the"
            " ids it has counted) and a sqlite transaction in daprd"
        )
    return (
        "two gRPC round trips to daprd (a bulk read of two keys, a transaction of three), the shard's"
        " JSON read and written whole (its tallies and the ids it has counted), its tallies again as the"
        " totals key, the gauges read and written, and a sqlite transaction in daprd"
    )


def _publish_lines(p: dict[str, Any]) -> list[str]:
    ratio, rounds = p["ratio"], p["ratio_rounds"]
    overhead = rounds["no-publish app_ms"]
    intro = (
        "email-send (`functions/email_send/app.py`) behind its daprd: a templated mail through the `email`"
        " SMTP binding to the stack's capture, its record in `email-state`, then its `email.sent` on"
        " `domain-events` (`email_events = TopicQueue(DaprPublisher(…))`). Against the same app with its"
        " publisher a no-op (the record still read back and the event built: the publish call alone is"
        " out) and with no publication at all (no read-back, no event; `bench/apps/email_send_variant.py`"
        f" patches the imported app, the product code is untouched). {p['messages']:,} requests a round"
        f" after {p['warm']} to warm up, the app and its daprd started anew for each, rounds: {p['runs']},"
        f" the variants taking turns{_load(p)}; the queue polled every 100 ms. All"
        f" {p['published']:,} events of the app as it is reached the topic, and every request its mail."
    )
    names = {"real": "email-send as it is", "no-publish": "publisher a no-op", "no-event": "no publication"}
    head = "| email-send | requests per second | app CPU per request | its daprd's CPU per request |"
    lines = [*_wrap(intro), f"{head} daprd calls per request |", "|---|---|---|---|---|"]
    for variant, name in names.items():
        row = p[variant]
        calls = ", ".join(f"{key} {row[key]['median']:.2g}" for key in sorted(row) if " " in key)
        lines.append(f"{_row(name, row)} {calls} |")
    return [
        *lines,
        "",
        *_wrap(
            f"Publish overhead: {ratio['no-publish app_ms']:.2f}× the app's CPU per handled request without"
            f" the publish call (the median of the rounds' own ratios: {_list(overhead)}). Goal ≤"
            f" {PUBLISH_GOAL:.2f}×: {_verdict(ratio['no-publish app_ms'], PUBLISH_GOAL, overhead)}. The whole"
            f" publication (reading the record back, building and publishing the event) is"
            f" {ratio['no-event app_ms']:.2f}× ({_list(rounds['no-event app_ms'])}); its daprd's CPU per"
            f" request {ratio['no-publish daprd_ms']:.2f}× and {ratio['no-event daprd_ms']:.2f}×"
            f" respectively.{_timed(p['real'])}"
        ),
    ]


def _timed(real: dict[str, Any]) -> str:
    """The publish call timed in place: steadier than the difference of two noisy rounds."""
    if "publish_thread_ms" not in real:
        return ""
    cost, share = real["publish_thread_ms"], real["publish_share"]
    return (
        " Timed in place instead (the calling thread's CPU clock read around each publish of the app as"
        " it is: the event's encoding and the gRPC call to daprd, gRPC's own threads aside), a publish"
        f" costs {cost['median']:.2f} ms (rounds {cost['min']:.2f}–{cost['max']:.2f}), {share['median']:.1%}"
        f" of the app's CPU per request (rounds {share['min']:.1%}–{share['max']:.1%})."
    )


def _load(r: dict[str, Any]) -> str:
    if "load_before" not in r:
        return ""
    return f" (the machine's 1-minute load average before the stack started: {r['load_before']:.2f})"


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _row(name: str, figures: dict[str, Any]) -> str:
    low, mid, high = (figures["per_second"][key] for key in ("min", "median", "max"))
    cpu = f"{_ms(figures['app_ms'])} | {_ms(figures['daprd_ms'])}"
    return f"| {name} | {mid:,.0f}/s ({low:,.0f}–{high:,.0f}) | {cpu} |"


def _ms(figures: dict[str, float]) -> str:
    return f"{figures['median']:,.2f} ms ({figures['min']:,.2f}–{figures['max']:,.2f})"
