"""Read the local stack's sqlite state store directly (read-only): `bindery cases`.

daprd's sqlite store keeps rows `(key, value, is_binary, …)` in table `state`, keys prefixed
`<app id>||`, binary values base64-encoded.
"""

from __future__ import annotations

import base64
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def values(database: Path, app_id: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    """Yield (key without the app prefix, value bytes) for keys starting with `prefix`."""
    if not database.is_file():
        return
    head = f"{app_id}||{prefix}"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT key, value, is_binary FROM state WHERE substr(key, 1, ?) = ?", (len(head), head)
        ).fetchall()
    for key, value, is_binary in rows:
        data = base64.b64decode(value) if is_binary else str(value).encode()
        yield str(key)[len(app_id) + 2 :], data


def cases_text(database: Path, case_id: str | None, status: str | None) -> str:
    """The dunning cases as a table, or one case's timeline; `ValueError` when the case is unknown."""
    from functions.payment_retry import report  # noqa: PLC0415 - only this command needs it
    from functions.payment_retry.model import Case  # noqa: PLC0415

    prefix = f"case:{case_id}" if case_id else "case:"
    found = [Case.model_validate_json(value) for _key, value in values(database, "payment-retry", prefix)]
    if case_id:
        match = [case for case in found if case.case_id == case_id]
        if not match:
            raise ValueError(f"no case {case_id} in {database}")
        return report.timeline(match[0])
    chosen = [case for case in found if status in {None, case.status}]
    return report.table(chosen) if chosen else "no cases"
