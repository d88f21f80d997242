"""`make demo` as a new user runs it: the scenario on a fresh stack, its steps, and what it reports."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tooling import demo
from tooling.paths import project_root

if TYPE_CHECKING:
    from pathlib import Path


def test_the_demo_runs_its_steps_and_reports_what_the_readme_promises(
    tmp_path: Path, daprd_binary: Path
) -> None:
    """Steps 1-6 in the README's order; the Stripe invoice and one card recovered, the expired card open."""
    del daprd_binary  # built or found before the demo starts its stack
    said: list[str] = []
    summary = demo.run(tmp_path, say=said.append)
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
