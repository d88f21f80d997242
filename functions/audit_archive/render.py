"""The archive's blobs: each dirty day of a topic rendered into `yyyy/mm/dd/{topic}.jsonl`, deterministically.

A day's blob is its events' JSON lines sorted by (occurred_at, event_id), each ended by a newline: the
same events always give the same bytes. `written:{topic}:{yyyy-mm-dd}` keeps the SHA-256 of the bytes
last written (`Written`), so a day marked dirty without a change (a redelivered event) is not written
again. A cron tick reaches every replica, so two may render the same day at once; the rules that keep
the blob whole whatever the order:

* the record is read before the shards, so what a replica renders is never older than the record;
* after a put, the record is written back with the ETag read before it: a lost race means another
  replica wrote meanwhile and either put may have landed last, so the record is deleted and the day
  stays dirty (the next tick writes it again); a record changed again right after ours keeps it dirty too;
* the day is unmarked, then the record and the shards are read again: an event kept, or a record
  deleted, since the render marks it dirty again.

Any failure (a put, a read) leaves the day dirty for the next tick.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from bindings.errors import ConflictError
from bindings.optimistic import write_back
from functions.audit_archive import archive

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date

    from bindings.ports import BlobStore, StateStore

CONTENT_TYPE = "application/x-ndjson"
_log = logging.getLogger(__name__)


class Written(BaseModel):
    """What was last written to a day's blob (version 1): its SHA-256 and its lines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    lines: int = Field(ge=0)


@dataclass
class Report:
    """What a tick did: blobs written (name -> lines), days unchanged, days that failed (name -> error)."""

    written: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def blob_name(topic: str, day: date) -> str:
    """The blob of `topic` on `day` in the archive's container: `yyyy/mm/dd/{topic}.jsonl`."""
    return f"{day:%Y/%m/%d}/{topic}.jsonl"


def written_key(topic: str, day: date) -> str:
    """The key of the record of what was last written to the day's blob."""
    return f"written:{topic}:{day.isoformat()}"


def rendered(lines: Mapping[str, str]) -> bytes:
    """The day's blob: every line sorted by (occurred_at in UTC, event id), newline-terminated."""

    def order(item: tuple[str, str]) -> tuple[datetime, str]:
        moment = datetime.fromisoformat(json.loads(item[1])["occurred_at"]).astimezone(UTC)
        return moment, item[0]

    return "".join(f"{line}\n" for _, line in sorted(lines.items(), key=order)).encode()


def render_day(store: StateStore, blobs: BlobStore, topic: str, day: date) -> int | None:
    """Bring the blob of `topic` on `day` up to date; its lines when written, None when unchanged."""
    key, shard_keys = written_key(topic, day), archive.shard_keys(topic, day)
    record = store.get(key)  # before the shards: the blob it describes is never newer than what they hold
    shards = store.get_many(shard_keys)
    found = archive.lines(shards)
    data = rendered(found)
    digest = hashlib.sha256(data).hexdigest()
    unchanged = record.value is not None and Written.model_validate_json(record.value).sha256 == digest
    if not unchanged:
        blobs.put(blob_name(topic, day), data, content_type=CONTENT_TYPE)
        mine = Written(sha256=digest, lines=len(found)).model_dump_json().encode()
        try:
            write_back(store, record, mine)
        except ConflictError:
            _log.info("raced another replica on %s: rendered again next tick", blob_name(topic, day))
            store.delete(key)
            archive.mark(store, topic, day)
            return len(found)
        record = store.get(key)  # our record's ETag, for the check below
        if record.value != mine:  # changed already (or deleted by a replica that lost its race)
            archive.mark(store, topic, day)
            return len(found)
    archive.unmark(store, topic, day)
    read = [record.etag, *(item.etag for item in shards)]
    if [item.etag for item in store.get_many([key, *shard_keys])] != read:
        archive.mark(store, topic, day)  # an event kept, or the record deleted, since the render
    return None if unchanged else len(found)


def tick(store: StateStore, blobs: BlobStore, topics: Iterable[str]) -> Report:
    """Render every dirty day of `topics`; a day that fails stays dirty and the others go on."""
    report = Report()
    for topic, day in archive.dirty_days(store, topics):
        name = blob_name(topic, day)
        try:
            lines = render_day(store, blobs, topic, day)
        except Exception as error:  # noqa: BLE001 - one day's failure must not hold the others back
            report.failed[name] = f"{type(error).__name__}: {error}"
            continue
        if lines is None:
            report.unchanged.append(name)
        else:
            report.written[name] = lines
    return report
