"""1,000 hostile messages mixed among good ones on every input queue, through the real sidecars.

Each run ends with a table of invariants read from the sandbox ledger, the mail capture, the state
stores, the blob store and the dead letters: every good message took effect exactly once, every bad
one is dead-lettered with a reason and its body intact, and no app or sidecar died.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.common import names
from tests.integration.helpers import read_jsonl
from tests.reliability.goods import QUEUES, TAG, UNVERSIONED, beat, order, order_blob
from tests.reliability.hostile import hostile
from tests.reliability.report import Row, table
from tooling import deadletters, state_reader
from tooling.sidecar import AppSpec
from tooling.stack import DEMO_APPS, Stack
from tooling.waiting import eventually

BAD_PER_QUEUE, GOOD_PER_QUEUE = 170, 10  # 1,020 hostile messages over six queues


@pytest.fixture(scope="module")
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    """Every app with an input queue, the retry tick every second."""
    apps = [
        spec
        for spec in DEMO_APPS
        if spec.app_id in {names.EMAIL_SEND, names.EMAIL_EVENTS, names.DEMO_ARCHIVER, names.RECEIPT_RENDER}
    ]
    apps.append(
        AppSpec(names.PAYMENT_RETRY, "functions.payment_retry.app", env={"RETRY_TICK_BUDGET_SECONDS": "0.8"})
    )
    stack = stack_factory(apps=apps, values={"RETRY_TICK_SCHEDULE": "@every 1s"})
    container = stack.blob_service().get_container_client(names.DOCUMENTS_CONTAINER)
    for i in range(GOOD_PER_QUEUE):  # the good storage events refer to these orders
        container.upload_blob(order_blob(i), json.dumps(order(i)).encode(), overwrite=True)
    return stack


SENT: dict[str, tuple[list[str], list[str]]] = {queue: ([], []) for queue in QUEUES}


@pytest.mark.parametrize("queue", list(QUEUES))
@settings(max_examples=BAD_PER_QUEUE, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(data=st.data())
def test_hostile_messages_are_enqueued_among_good_ones(stack: Stack, queue: str, data: st.DataObject) -> None:
    """Hypothesis draws each hostile message; every 17th also sends a good one behind it."""
    good, required = QUEUES[queue]
    bad, goods = SENT[queue]
    text = data.draw(hostile(good(0), required, versioned=queue not in UNVERSIONED))
    client = stack.queue_service().get_queue_client(queue)
    client.send_message(text)
    bad.append(text)
    if len(bad) % (BAD_PER_QUEUE // GOOD_PER_QUEUE) == 0 and len(goods) < GOOD_PER_QUEUE:
        goods.append(json.dumps(good(len(goods))))
        client.send_message(goods[-1])


def test_every_hostile_message_is_dead_lettered_and_every_good_one_takes_effect_once(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    """The invariants, read from the ledger, the capture, the stores, the blobs and the dead letters."""
    counts = {queue: (len(bad), len(good)) for queue, (bad, good) in SENT.items()}
    assert all(count == (BAD_PER_QUEUE, GOOD_PER_QUEUE) for count in counts.values()), counts
    letters = stack.blob_service().get_container_client(deadletters.container_name(stack.resources))
    total = BAD_PER_QUEUE * len(QUEUES)
    eventually(
        lambda: sum(1 for _ in letters.list_blobs()) >= total,
        "every hostile message dead-lettered",
        timeout=300,
    )
    rows = _invariants(stack, SENT)
    with capsys.disabled():
        print("\n" + table(rows))  # noqa: T201 - the suite's report
    assert all(ok for *_, ok in rows), table(rows)


def _invariants(stack: Stack, plan: dict[str, tuple[list[str], list[str]]]) -> list[Row]:
    rows: list[Row] = []
    records = list(deadletters.records(stack.blob_service(), stack.resources))
    for queue, (bad, good) in plan.items():
        bodies = Counter(
            row.record.body.decode("utf-8", "replace") for row in records if row.record.source == queue
        )
        missing = Counter(bad) - bodies
        rows.append(
            (
                f"{queue}: hostile dead-lettered, body intact",
                str(len(bad)),
                str(len(bad) - sum(missing.values())),
                not missing,
            )
        )
        reasons = all(row.record.reason for row in records if row.record.source == queue)
        rows.append((f"{queue}: every dead letter has a reason", "yes", "yes" if reasons else "no", reasons))
        leaked = sum(bodies[text] for text in good)
        rows.append((f"{queue}: good messages dead-lettered", "0", str(leaked), leaked == 0))
    rows += _good_effects(stack)
    rows += _documents(stack)
    dead = [
        name for name, running in stack.apps.items() if not (running.app.alive() and running.daprd.alive())
    ]
    rows.append(("apps and sidecars still running", "all", "all" if not dead else ", ".join(dead), not dead))
    return rows


def _good_effects(stack: Stack) -> list[Row]:
    payments = [f"pay_cus_ok_rel{TAG}{i}" for i in range(GOOD_PER_QUEUE)]

    def charges() -> Counter[str]:
        return Counter(line["key"] for line in read_jsonl(stack.ledger) if line["case_id"] in payments)

    eventually(lambda: len(charges()) == GOOD_PER_QUEUE, "the good payments charged", timeout=120)
    once = charges() == Counter({f"{p}:1": 1 for p in payments})
    addresses = [f"rel-{TAG}-{i}@example.com" for i in range(GOOD_PER_QUEUE)]
    eventually(lambda: len(_mails(stack, addresses)) == GOOD_PER_QUEUE, "the good emails", timeout=120)
    database = stack.config.root / "state" / "email.db"
    timelines = [
        list(state_reader.values(database, "email-state", f"timeline:rel-ev-{TAG}-{i}"))
        for i in range(GOOD_PER_QUEUE)
    ]
    documents = stack.blob_service().get_container_client("documents")
    beats = [
        documents.get_blob_client(f"heartbeats/{beat(i)['id']}.json").exists() for i in range(GOOD_PER_QUEUE)
    ]
    n, sent, lines = str(GOOD_PER_QUEUE), _mails(stack, addresses), sum(1 for t in timelines if len(t) == 1)
    return [
        ("payment-events: one charge per good payment", n, str(sum(charges().values())), once),
        ("email-requests: one mail per good request", n, str(sum(sent.values())), sent == Counter(addresses)),
        ("email-events: a timeline per good batch", n, str(lines), lines == GOOD_PER_QUEUE),
        ("demo-events: a blob per good heartbeat", n, str(sum(beats)), all(beats)),
    ]


def _documents(stack: Stack) -> list[Row]:
    """One PDF and one mail holding its link per good receipt request and per good order."""
    container = stack.blob_service().get_container_client(names.DOCUMENTS_CONTAINER)
    rows = []
    for kind, prefix, address in (
        ("receipt-requests", "receipts/", "rcpt"),
        ("blob-events", "invoices/", "inv"),
    ):
        wanted = [f"{address}-{TAG}-{i}@example.com" for i in range(GOOD_PER_QUEUE)]

        def arrived(wanted: list[str] = wanted) -> bool:
            return len(_mails(stack, wanted)) == GOOD_PER_QUEUE

        eventually(arrived, f"the {kind} mails", timeout=120)
        pdfs = sum(1 for blob in container.list_blobs(name_starts_with=prefix) if f"-{TAG}-" in blob.name)
        mails = _mails(stack, wanted)
        rows.append(
            (f"{kind}: one PDF per good message", str(GOOD_PER_QUEUE), str(pdfs), pdfs == GOOD_PER_QUEUE)
        )
        ok = mails == Counter(wanted)
        rows.append((f"{kind}: one mail per good message", str(GOOD_PER_QUEUE), str(sum(mails.values())), ok))
    return rows


def _mails(stack: Stack, addresses: list[str]) -> Counter[str]:
    """Captured mails to any of `addresses`, counted by address."""
    parser = BytesParser(policy=policy.default)
    found = (
        str(parser.parsebytes(p.read_bytes())["X-Bindery-Envelope-To"]) for p in stack.mail_dir.glob("*.eml")
    )
    return Counter(address for address in found if address in addresses)
