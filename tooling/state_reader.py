"""Read a state store directly (read-only): `bindery cases` and `bindery emails`.

Locally, daprd's sqlite store keeps rows `(key, value, is_binary, …)` in table `state`, keys prefixed
`<app id>||` (or the store's name), binary values base64-encoded. Deployed (`--state-url`, a libpq
connection string or URL), state.postgresql v2 keeps `(key, value bytea, …)` in table
`<tablePrefix>state`, the prefix read from the store's component in components/azure.
"""

from __future__ import annotations

import base64
import sqlite3
from typing import TYPE_CHECKING

import yaml

from functions.common import names
from tooling.paths import project_root

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Which store each key prefix (app id, or the store's name) lives in, for the PostgreSQL tables.
_STORE_OF = {"payment-retry": names.STATESTORE, names.EMAIL_STATE: names.EMAIL_STATE}


def values(database: Path | str, app_id: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    """Yield (key without the app prefix, value bytes) for keys starting with `prefix`.

    `database` is the local sqlite file, or a PostgreSQL connection string (`--state-url`).
    """
    if isinstance(database, str):
        yield from _postgres_values(database, app_id, prefix)
        return
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


def _postgres_values(connection: str, app_id: str, prefix: str) -> Iterator[tuple[str, bytes]]:
    try:
        import psycopg  # noqa: PLC0415 - only `--state-url` needs the driver
        from psycopg import sql  # noqa: PLC0415
    except ImportError:
        raise ValueError('--state-url needs the PostgreSQL driver: pip install -e ".[ops]"') from None
    table = sql.Identifier(f"{_table_prefix(_STORE_OF[app_id])}state")
    query = sql.SQL("SELECT key, value FROM {} WHERE starts_with(key, %s)").format(table)
    try:
        read_only = "-c default_transaction_read_only=on"
        with psycopg.connect(connection, autocommit=True, connect_timeout=10, options=read_only) as db:
            rows = db.execute(query, (f"{app_id}||{prefix}",)).fetchall()
    except psycopg.Error as error:
        raise ValueError(f"cannot read the state store ({table.as_string()}): {error}") from error
    for key, value in rows:
        yield str(key)[len(app_id) + 2 :], bytes(value)


def _where(database: Path | str) -> str:
    """Where the state was read, for messages: a connection string may hold a password, so not it."""
    return "the state store at --state-url" if isinstance(database, str) else str(database)


def _table_prefix(store: str) -> str:
    """The `tablePrefix` of `store`'s deployed component (components/azure), empty when it has none."""
    doc = yaml.safe_load((project_root() / "components" / "azure" / f"{store}.yaml").read_text())
    return next((str(m["value"]) for m in doc["spec"]["metadata"] if m["name"] == "tablePrefix"), "")


def cases_text(database: Path | str, case_id: str | None, status: str | None) -> str:
    """The dunning cases as a table, or one case's timeline; `ValueError` when the case is unknown."""
    from functions.payment_retry import report  # noqa: PLC0415 - only this command needs it
    from functions.payment_retry.model import Case  # noqa: PLC0415

    prefix = f"case:{case_id}" if case_id else "case:"
    found = [Case.model_validate_json(value) for _key, value in values(database, "payment-retry", prefix)]
    if case_id:
        match = [case for case in found if case.case_id == case_id]
        if not match:
            raise ValueError(f"no case {case_id} in {_where(database)}")
        return report.timeline(match[0])
    chosen = [case for case in found if status in {None, case.status}]
    return report.table(chosen) if chosen else "no cases"


def emails_text(database: Path | str, request_id: str | None, status: str | None) -> str:
    """Email requests as a table, or one request's record and lifecycle; `ValueError` when unknown."""
    from functions.email_events.lifecycle import Timeline  # noqa: PLC0415 - only this command needs it
    from functions.email_send.sends import SendRecord  # noqa: PLC0415

    store = "email-state"
    records = [
        SendRecord.model_validate_json(v) for _k, v in values(database, store, f"email:{request_id or ''}")
    ]
    timelines = {
        t.request_id: t
        for t in (Timeline.model_validate_json(v) for _k, v in values(database, store, "timeline:"))
    }
    if request_id:
        match = [record for record in records if record.request_id == request_id]
        if not match:
            raise ValueError(f"no email request {request_id} in {_where(database)}")
        lines = [f"{name:17} {value}" for name, value in match[0].model_dump(mode="json").items()]
        timeline = timelines.get(request_id)
        lines.append(f"lifecycle         {timeline.status if timeline else 'no events yet'}")
        lines += [
            f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.event}{f' ({e.detail})' if e.detail else ''}"
            for e in (timeline.entries if timeline else ())
        ]
        return "\n".join(lines)
    chosen = sorted((r for r in records if status in {None, r.status}), key=lambda r: r.updated_at)
    if not chosen:
        return "no emails"
    lines = [f"{'REQUEST':40}  {'STATUS':10}  {'LIFECYCLE':11}  {'TO':32}  {'TEMPLATE':18}  UPDATED"]
    for r in chosen:
        label, when = f"{r.template}/v{r.template_version}", f"{r.updated_at:%Y-%m-%d %H:%M:%S}"
        life = timelines[r.request_id].status if r.request_id in timelines else "-"
        lines.append(f"{r.request_id[:40]:40}  {r.status:10}  {life:11}  {r.to[:32]:32}  {label:18}  {when}")
    return "\n".join(lines)
