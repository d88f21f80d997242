"""`make demo` as a new user runs it: the scenario on a fresh stack, its steps, its summary, its dashboard.

The scenario runs once for every test here (it takes minutes). Once it is done, with its stack still up
(`demo.run`'s `while_up`), headless Chromium loads the dashboard (the demo has had every tile rebuilt
from its final counters, `tooling/demo_dashboard.py`), and `bindery cases` (with each case's timeline),
`bindery emails` and `bindery dead-letters list` run against the same stack, each in its own process as
an operator runs them. The tests then compare the figures the page showed with what the CLI printed.
The stack is `make demo`'s, unchanged.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from functions.common import aggregates
from functions.common.tiles import CATALOGUE
from functions.payment_retry.model import OPEN_STATUSES
from functions.payment_retry.publications import LAST_EMAIL
from functions.tile_builder import case_builders, figures
from tooling import browser, demo, demo_dashboard, demo_events, storage_cli
from tooling.paths import project_root
from tooling.waiting import eventually

if TYPE_CHECKING:
    from pathlib import Path

    from tooling.stack import Stack

# What each tile of the page shows: its state, its big figure and note (kpi), its figure list (series:
# each line's latest, bars: each bar) as (label, figure), and its table's rows; as rendered (innerText).
READ_PAGE = """
const text = (node) => (node ? node.innerText.trim() : null);
return [...document.querySelectorAll('#tiles .tile')].map((tile) => ({
  id: tile.dataset.tile,
  state: tile.dataset.state,
  figure: text(tile.querySelector('.body > .figure')),
  note: text(tile.querySelector('.body > .note')),
  figures: [...tile.querySelectorAll('.figures li')].map(
    (item) => [text(item.querySelector('.label')), text(item.querySelector('.figure'))]),
  rows: [...tile.querySelectorAll('tbody tr')].map((row) => [...row.querySelectorAll('td')].map(text)),
}));
"""


@dataclass(frozen=True)
class Shown:
    """One tile as the page showed it."""

    state: str
    figure: str | None
    note: str | None
    figures: dict[str, str]  # label -> figure text
    rows: list[list[str]]


@dataclass
class Run:
    """The demo's run: what it said and summarised, and what the page and the CLI showed while it was up."""

    said: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    page: dict[str, Shown] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)  # SEVERE console entries
    cli: dict[str, str] = field(default_factory=dict)  # `bindery ARGS` -> what it printed
    counted: list[dict[str, dict[str, int]]] = field(default_factory=list)  # per topic, before and after


def bindery(*args: str) -> str:
    """What `bindery ARGS` prints, run in its own process over $BINDERY_VAR (the demo's root here)."""
    done = subprocess.run(
        [sys.executable, "-m", "tooling.cli", *args], cwd=project_root(), capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    return done.stdout


def read_page(stack: Stack, run: Run) -> None:
    """Load the dashboard (every tile rebuilt from the final counters by the demo); keep what it shows."""
    built = [demo_dashboard.built_at(stack, spec.id) for spec in CATALOGUE]
    assert None not in built, built  # the figures below then tell whether they are the final ones
    driver = browser.chromium()
    try:
        driver.get(f"{stack.dashboard_url}?every=1")
        eventually(lambda: browser.tiles_settled(driver), "the dashboard's tiles", timeout=30)
        for tile in driver.execute_script(READ_PAGE):
            figures = {str(label): str(figure) for label, figure in tile["figures"]}
            rows = [[str(cell) for cell in row] for row in tile["rows"]]
            run.page[tile["id"]] = Shown(tile["state"], tile["figure"], tile["note"], figures, rows)
        run.console = [e["message"] for e in browser.log(driver, "browser") if e["level"] == "SEVERE"]
    finally:
        driver.quit()


def read_cli(stack: Stack, run: Run) -> None:
    """`bindery cases` (and each case's timeline), `bindery emails`, `bindery dead-letters list`."""
    run.cli["cases"] = bindery("cases")
    for case_id in (row["case"] for row in cases(run)):
        run.cli[f"cases {case_id}"] = bindery("cases", case_id)
    run.cli["emails"] = bindery("emails")
    # The dead-letters command finds a running stack's Azurite through the file `bindery run` writes.
    info = storage_cli.stack_file()
    assert stack.azurite is not None
    azurite = stack.azurite
    info.write_text(
        json.dumps({"connection_string": azurite.connection_string, "blob_port": azurite.blob_port})
    )
    try:
        run.cli["dead-letters list"] = bindery("dead-letters", "list")
    finally:
        info.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, daprd_binary: Path) -> Run:
    """One run of the demo; while its stack is up, the dashboard and the CLI read against it."""
    del daprd_binary  # built or found before the demo starts its stack
    root, seen = tmp_path_factory.mktemp("demo"), Run()

    def while_up(stack: Stack) -> None:
        seen.counted.append(demo_events.per_topic(stack))
        read_page(stack, seen)
        read_cli(stack, seen)
        seen.counted.append(demo_events.per_topic(stack))

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BINDERY_VAR", str(root))  # where the CLI looks: the demo's stack
        seen.summary = demo.run(root, say=seen.said.append, while_up=while_up)
    return seen


def cases(run: Run) -> list[dict[str, str]]:
    """`bindery cases`' rows: case, status, customer, amount (a number), currency."""
    table = run.cli["cases"]
    row = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+([\d,.]+) ([A-Z]{3})\s+\d+\s")
    found = [m.groups() for line in table.splitlines()[1:] if (m := row.match(line))]
    assert len(found) == len(table.splitlines()) - 1, table  # every case has a currency's amount
    return [dict(zip(("case", "status", "customer", "amount", "currency"), g, strict=True)) for g in found]


def emails(run: Run) -> list[dict[str, str]]:
    """`bindery emails`' rows: request (cut to 40 characters), status, lifecycle, to, template."""
    lines = run.cli["emails"].splitlines()[1:]
    keys = ("request", "status", "lifecycle", "to", "template")
    return [dict(zip(keys, line.split()[:5], strict=True)) for line in lines]


def number(text: str) -> Decimal:
    """The number in a figure's text: `€1,234.56` and `1,234.56 EUR` are both 1234.56."""
    found = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    assert found is not None, text
    return Decimal(found[0].replace(",", ""))


def percent(text: str | None) -> Decimal | None:
    """A rate's figure (`66.7 %`) as a number; None for `—` (nothing to divide by)."""
    assert text is not None
    return None if text == "—" else number(text)


def rate(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent, to one decimal as the page shows rates; None when `whole` is 0."""
    return None if whole == 0 else round(Decimal(100 * part) / whole, 1)


def counts(figures: dict[str, str]) -> dict[str, int]:
    """A breakdown's figures as counts."""
    return {label: int(number(figure)) for label, figure in figures.items()}


def test_the_demo_runs_its_steps_and_reports_what_the_readme_promises(run: Run) -> None:
    """Steps 1-6 in the README's order; the Stripe invoice and one card recovered, the expired card open."""
    said, summary = run.said, run.summary
    steps = [int(match[1]) for line in said if (match := re.match(r"^(\d+)\. ", line))]
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What `make demo` does", 1)[1].split("\n## ", 1)[0]
    listed = [int(number) for number in re.findall(r"^(\d+)\. ", section, re.MULTILINE)]
    assert steps == listed == [1, 2, 3, 4, 5, 6]
    assert summary["cases_by_customer"] == {
        "cus_ok_demo": "recovered", "cus_recover1_demo": "recovered", "cus_hard_demo": "open",
    }  # fmt: skip
    invoice = next(case for case in summary["cases"] if case.startswith("in_"))  # opened by Stripe's event
    keys = [charge["key"] for charge in summary["charges"]]
    assert keys.count(f"auto:{invoice}:1") == 1  # Stripe's own automatic attempt, declined
    ours = [key for key in keys if not key.startswith("auto:")]
    assert len(ours) == len(set(ours)) == 3  # one charge an attempt, nothing charged twice
    assert f"{invoice}:1" in ours  # the retry paid the invoice
    assert summary["events_handled"]["stripe-webhook"] >= 2  # invoice.payment_failed, invoice.paid
    assert set(summary["email_lifecycle"]) == {"delivered"}
    assert summary["email_lifecycle"]["delivered"] == len(summary["mails_captured"]) >= 5
    assert len(summary["documents"]) == 3  # two receipts and the invoice, each linked in one mail
    assert summary["queued"] == {"email-requests": 0, "receipt-requests": 0, "blob-events": 0}
    assert ", 0 duplicated, 0 cases disagreeing with it" in summary["campaign"]
    events = summary["domain_events"]  # every effect published once, and counted once
    assert events["published"]["case.opened"] == 3
    assert events["published"]["case.recovered"] == 2
    assert events["published"]["attempt.charged"] == len(ours)  # each of our charges the processor answered
    assert events["aggregated"] == sum(events["published"].values())
    for topic, counts in events["topics"].items():  # on the broker, counted and archived: each once
        assert counts["archived"] == counts["aggregated"] == counts["published"] > 0, (topic, counts)
    assert events["topics"]["dunning"]["published"] == sum(events["published"].values())
    assert set(events["topics"]) == {"dunning", "email", "documents", "dead-letters"}
    assert events["topics"]["dead-letters"]["published"] == len(summary["dead_letters"])  # step 1's


def test_the_summary_names_the_dashboard_and_what_serves_it_again(run: Run) -> None:
    """The dashboard's URL is said while the demo runs and repeated in the summary, with `bindery run`."""
    url = run.summary["dashboard"]
    assert run.summary["tiles"] == len(CATALOGUE)  # each rebuilt from the final counters before the end
    assert url.startswith("http://127.0.0.1:")
    assert any(url in line for line in run.said)
    line = next(line for line in demo.describe(run.summary).splitlines() if url in line)
    assert line.split()[:2] == ["dashboard", url]
    assert "`make run` (`bindery run`)" in line


def test_the_page_drew_every_tile_while_nothing_changed(run: Run) -> None:
    """Every catalogue tile drawn, no console error, and no event counted while the page and CLI were read."""
    assert {tile_id: shown.state for tile_id, shown in run.page.items()} == {s.id: "ok" for s in CATALOGUE}
    assert run.console == []
    before, after = run.counted
    assert before == after


def test_recovery_rate_recovered_revenue_and_lost_equal_bindery_cases(run: Run) -> None:
    """Recovery rate, this month's recovered revenue per currency and the lost table, from `bindery cases`."""
    rows = cases(run)
    statuses = Counter(row["status"] for row in rows)
    recovered = statuses["recovered"]
    closed = recovered + statuses["abandoned"] + statuses["canceled"]  # open cases left out
    assert recovered > 0
    shown = run.page["recovery-rate"]
    assert percent(shown.figure) == rate(recovered, closed)
    assert shown.note is not None
    assert re.search(rf"\b{recovered} of {closed} closed cases recovered\b", shown.note)
    # Money: the CLI writes `29.00 EUR`, the page `€29.00` (as emails do), so the numbers are compared.
    revenue: dict[str, Decimal] = {}
    for row in rows:
        if row["status"] == "recovered":  # each recovered during this run: this month's figure
            revenue[row["currency"]] = revenue.get(row["currency"], Decimal(0)) + number(row["amount"])
    page = run.page["recovered-revenue"].figures  # each currency's line, its latest (this month's) figure
    assert {currency: number(figure) for currency, figure in page.items()} == revenue
    lost: dict[str, list[Decimal]] = {}  # currency -> abandoned, canceled, both, cases
    for row in rows:
        if row["status"] in {"abandoned", "canceled"}:
            amount = number(row["amount"])
            sums = lost.setdefault(row["currency"], [Decimal(0)] * 4)
            sums[0 if row["status"] == "abandoned" else 1] += amount
            sums[2] += amount
            sums[3] += 1
    table = {row[0]: [number(cell) for cell in row[1:]] for row in run.page["lost"].rows}
    assert table == lost  # the demo loses none: both empty


def test_declines_by_class_and_reason_equal_the_cases_timelines(run: Run) -> None:
    """Declines by class and top reasons: each `attempt N declined (class: code)` of `bindery cases ID`."""
    declined = re.compile(r"^\s+\S+ \S+ UTC\s+attempt \d+ declined \(([^:]+): (.+)\)$", re.MULTILINE)
    declines = [
        found
        for command, text in run.cli.items()
        if command.startswith("cases ")
        for found in declined.findall(text)
    ]
    assert declines  # cus_recover1_demo's first retry, a soft decline
    by_class = Counter(kind for kind, _code in declines)
    assert counts(run.page["declines-by-class"].figures) == by_class
    by_code = Counter(code for _kind, code in declines)
    top = sorted(by_code.items(), key=lambda item: (-item[1], item[0]))[:10]
    shown = [(code, int(n), percent(share)) for code, n, share in run.page["decline-reasons"].rows]
    assert shown == [(code, n, rate(n, len(declines))) for code, n in top]


def test_emails_by_status_and_bounce_rate_equal_bindery_emails(run: Run) -> None:
    """Emails by status: `bindery emails`' sent and suppressed, and its lifecycle column; the bounce rate."""
    rows = emails(run)
    statuses = Counter(row["status"] for row in rows if row["status"] in {"sent", "suppressed"})
    lifecycle = Counter(row["lifecycle"] for row in rows if row["lifecycle"] != "-")
    assert statuses["sent"] > 0
    assert counts(run.page["emails-by-status"].figures) == statuses + lifecycle
    bounced, sent = lifecycle["bounced"], statuses["sent"]
    shown = run.page["bounce-rate"]
    assert percent(shown.figure) == rate(bounced, sent)
    assert shown.note is not None
    assert re.search(rf"\b{bounced} bounced of {sent} sent\b", shown.note)


def test_documents_rendered_today_equal_the_receipts_and_invoices_bindery_emails_sent(run: Run) -> None:
    """Today's receipts and invoices: each document is mailed once, as `bindery emails`' templates show."""
    templates = Counter(row["template"].split("/v")[0] for row in emails(run))
    assert counts(run.page["documents-rendered"].figures) == {
        "Receipts": templates["receipt"], "Invoices": templates["invoice"],
    }  # fmt: skip
    assert templates["receipt"] == Counter(row["status"] for row in cases(run))["recovered"]


def test_dead_letters_by_source_equal_bindery_dead_letters_list(run: Run) -> None:
    """Dead letters by source in the last 24 hours: the SOURCE column of `bindery dead-letters list`."""
    listed = [line.split() for line in run.cli["dead-letters list"].splitlines()[1:]]
    by_source = Counter(columns[3] for columns in listed)  # ID, date, time, SOURCE (18 characters), …
    assert by_source  # step 1's malformed heartbeat
    shown = counts(run.page["dead-letters"].figures)
    assert {source[:18]: count for source, count in shown.items()} == by_source


# `bindery cases ID`: the header (status, failure to the minute, policy), each timeline entry (to the
# second), each attempt with its outcome, and the outbox keys in the order they were sent.
HEADER = re.compile(r"^case (\S+): (\S+), .*, failed (\S+ \d\d:\d\d) UTC.*, policy (\S+) v(\d+),")
RECOVERED = re.compile(r"^  (\S+ \d\d:\d\d:\d\d) UTC  recovered\b", re.MULTILINE)
ANSWERED = re.compile(r"^  attempt \d+ key \S+: (?:succeeded|declined)\b", re.MULTILINE)  # not refused
SUPPRESSED = re.compile(r"^  \S+ \S+ UTC  email skipped \((\S+): suppressed\)$", re.MULTILINE)
ENDS = ("recovered", "abandoned", "canceled")  # cases-by-step's columns after "Open now"


def timelines(run: Run) -> dict[str, str]:
    """Each case's `bindery cases ID`, by case id."""
    return {name.removeprefix("cases "): text for name, text in run.cli.items() if name.startswith("cases ")}


def header(text: str) -> re.Match[str]:
    """A timeline's header: case, status, failed (to the minute), policy name and version."""
    found = HEADER.match(text)
    assert found is not None, text
    return found


def utc(text: str) -> datetime:
    """A time as the CLI prints it in UTC (`2026-12-06 20:30`, or with seconds)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_at_risk_and_cases_by_step_equal_the_open_cases_and_their_answered_charges(run: Run) -> None:
    """At risk: the open cases of `bindery cases` per currency; the step: a case's answered attempts."""
    texts = timelines(run)
    at_risk: dict[str, list[Decimal]] = {}  # currency -> cases, amount
    by_step: dict[int, list[int]] = {}  # step -> open, recovered, abandoned, canceled
    for row in cases(run):
        step = len(ANSWERED.findall(texts[row["case"]]))
        is_open = row["status"] in OPEN_STATUSES
        by_step.setdefault(step, [0] * 4)[0 if is_open else 1 + ENDS.index(row["status"])] += 1
        if is_open:
            sums = at_risk.setdefault(row["currency"], [Decimal(0), Decimal(0)])
            sums[0] += 1
            sums[1] += number(row["amount"])
    assert at_risk  # cus_hard_demo's case, waiting for a new card
    shown = run.page["at-risk"].rows
    assert not any(case_builders.PENDING in cell for row in shown for cell in row)
    assert {row[0]: [number(row[1]), number(row[2])] for row in shown} == at_risk
    steps = {int(row[0]): [int(cell) for cell in row[1:]] for row in run.page["cases-by-step"].rows}
    assert steps == by_step


def test_time_to_recover_is_the_lower_median_of_the_whole_hours_from_failure_to_recovery(run: Run) -> None:
    """Hours from the failure (the header, to the minute) to the `recovered` entry (to the second).

    The CLI prints the failure to the minute, so a recovery's whole hours are compared only where that
    minute cannot change them (the demo's recover about a day and a minute after their failure).
    """
    hours = []
    for text in timelines(run).values():
        case = header(text)
        if case[2] != "recovered":
            continue
        recovered = RECOVERED.search(text)
        assert recovered is not None, text
        took = utc(recovered[1]) - utc(case[3])  # the failure: up to 59 s later; the recovery up to 1 s
        low, high = (
            (took - timedelta(seconds=59)) // timedelta(hours=1),
            (took + timedelta(seconds=1)) // timedelta(hours=1),
        )
        assert low == high, f"{case[1]}: recovered {took} after the failure's minute, too near a whole hour"
        hours.append(min(low, aggregates.HOURS_CAP))
    assert hours
    median = case_builders.lower_median(Counter(hours))
    shown = run.page["time-to-recover"]
    assert shown.figure == figures.hours(median, capped=median == aggregates.HOURS_CAP).display
    assert shown.note is not None
    assert shown.note.startswith(f"30 days: the median of {len(hours)} recoveries")


def test_recoveries_by_email_are_the_last_dunning_email_each_recovered_case_s_timeline_names(
    run: Run,
) -> None:
    """Each recovered case counted once, under the email its timeline names after the close (or none).

    The timeline's `last dunning email before it (TEMPLATE)`, written with the close, is the email step
    the close's event carries; a case's `sent:` order cannot tell it (an email still in the outbox at
    the close leaves in the same flush, before the close's event: the demo's Stripe invoice, failed,
    retried and paid in one second, sends `payment_failed` after its recovery was recorded).
    """
    named: Counter[str] = Counter()
    for text in timelines(run).values():
        if header(text)[2] != "recovered":
            continue
        [step] = [
            line.rsplit("(", 1)[1].rstrip(")") for line in text.splitlines() if f"  {LAST_EMAIL} (" in line
        ]
        named[case_builders.NO_EMAIL if step == "none" else step] += 1
    assert named.total() > 0
    assert counts(run.page["recoveries-by-email"].figures) == named
