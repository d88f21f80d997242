"""One size of the tick-cost bench, run beside a daprd whose ports are in the environment.

Usage: tick_probe.py seed DB OPEN  — write OPEN open cases (not due for a day) straight into daprd's
sqlite table, with their due-index and customer entries (daprd must not be running);
tick_probe.py tick DB DUE RUNS — RUNS times: write DUE cases due now, then time one retry tick
through the Dapr state API and the payment-gateway binding, then an idle tick. Prints JSON.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import sys
import time
import uuid
import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bindings.dapr_ports import DaprStateStore
from bindings.testing import MemoryQueue
from functions.common import names
from functions.common.stripe_gateway import DaprStripeTransport, StripeGateway
from functions.payment_retry import outcomes
from functions.payment_retry.cases import SHARDS, CaseStore, minute_of
from functions.payment_retry.dunning import OUTBOUND, Dunning
from functions.payment_retry.model import PaymentFailed
from functions.payment_retry.policy import latest
from functions.payment_retry.tick import run_tick

_PREFIX = f"{names.PAYMENT_RETRY}||"
_MARK = "pay_TEMPLATE"
_CHUNK = 50_000


def _case_json(case_id: str, customer: str, failed_at: datetime, now: datetime) -> str:
    event = PaymentFailed.model_validate({
        "type": "payment.failed", "event_id": f"evt_{case_id}", "payment_id": case_id,
        "customer_id": customer, "subscription_id": f"sub_{customer}", "email": f"{customer}@example.com",
        "amount": 2900, "currency": "EUR", "timezone": "Europe/Berlin", "failed_at": failed_at.isoformat(),
        "decline": {"code": "card_declined", "decline_code": "insufficient_funds"},
    })  # fmt: skip
    case = outcomes.opened(event, latest("default"), now)
    return case.model_copy(update={"outbox": (), "sent": ("sent-at-open",)}).model_dump_json()


def _row(key: str, value: str) -> tuple[str, str, int, str]:
    return (_PREFIX + key, base64.b64encode(value.encode()).decode(), 1, str(uuid.uuid4()))


def _write(db: Path, rows: list[tuple[str, str, int, str]]) -> None:
    with sqlite3.connect(db, timeout=30) as connection:
        for start in range(0, len(rows), _CHUNK):
            connection.executemany(
                "INSERT OR REPLACE INTO state (key, value, is_binary, etag, update_time)"
                " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
                rows[start : start + _CHUNK],
            )


def _cases(
    ids: list[str], customer: str, failed_at: datetime, now: datetime
) -> list[tuple[str, str, int, str]]:
    template = _case_json(_MARK, customer, failed_at, now)
    return [_row(f"case:{case_id}", template.replace(_MARK, case_id)) for case_id in ids]


def seed(db: Path, count: int) -> dict[str, float]:
    """Open `count` cases due a day or more from now, spread over 10 days of minutes."""
    began = time.perf_counter()
    now = datetime.now(UTC)
    ids = [f"pay_open{index:07d}" for index in range(count)]
    rows = _cases(ids, "cus_open", now - timedelta(minutes=5), now)
    due: dict[str, list[str]] = defaultdict(list)
    start = minute_of(now) + timedelta(days=1)
    for index, case_id in enumerate(ids):
        minute = start + timedelta(minutes=index % (10 * 24 * 60))
        due[f"due:{minute:%Y%m%d%H%M}:{zlib.crc32(case_id.encode()) % SHARDS}"].append(case_id)
        rows.append(_row(f"customer:cus_open{index:07d}", json.dumps([case_id])))
    rows += [_row(key, json.dumps(value)) for key, value in due.items()]
    _write(db, rows)
    size = sum(path.stat().st_size for path in db.parent.glob(f"{db.name}*"))
    return {"rows": len(rows), "seconds": time.perf_counter() - began, "bytes": size}


def tick(db: Path, due: int, runs: int) -> list[dict[str, float]]:
    """Time `runs` ticks that each find `due` cases due, and the idle tick after each."""
    queues = {name: MemoryQueue(name) for name in OUTBOUND}
    dunning = Dunning(
        cases=CaseStore(DaprStateStore(names.STATESTORE)),
        gateway=StripeGateway(DaprStripeTransport(names.PAYMENT_GATEWAY)),
        queues=queues,
        owner="bench",
    )
    results = []
    for run in range(runs):
        now = datetime.now(UTC)
        ids = [f"pay_due{run}x{index:04d}" for index in range(due)]
        rows = _cases(ids, "cus_ok_bench", now - timedelta(days=1, minutes=5), now)
        minute = minute_of(now) - timedelta(minutes=1)
        index: dict[str, list[str]] = defaultdict(list)
        for case_id in ids:
            index[f"due:{minute:%Y%m%d%H%M}:{zlib.crc32(case_id.encode()) % SHARDS}"].append(case_id)
        rows += [_row(key, json.dumps(value)) for key, value in index.items()]
        rows.append(_row("due-cursor", (minute - timedelta(minutes=1)).isoformat()))
        _write(db, rows)
        began = time.perf_counter()
        report = run_tick(dunning, now, budget=timedelta(minutes=5))
        busy = time.perf_counter() - began
        recovered = sum(dunning.cases.get(case_id)[0].status == "recovered" for case_id in ids)  # type: ignore[union-attr]
        if recovered != due or report.errors:
            raise SystemExit(
                f"tick recovered {recovered}/{due} with {report.errors} errors: {report.failures}"
            )
        began = time.perf_counter()
        run_tick(dunning, now, budget=timedelta(minutes=5))
        results.append({"tick_seconds": busy, "idle_tick_seconds": time.perf_counter() - began})
    return results


if __name__ == "__main__":
    action, database = sys.argv[1], Path(sys.argv[2])
    if action == "seed":
        print(json.dumps(seed(database, int(sys.argv[3]))))
    else:
        print(json.dumps(tick(database, int(sys.argv[3]), int(sys.argv[4]))))
