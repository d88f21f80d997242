"""What was issued stays issued: each document number is bound once to one content, for good.

`issue` keeps a record per document in the state store, under `issued:{type}:{number}`: the sha256 of
the document's content, its blob and when it was claimed and issued. The number alone is the key (an
invoice number in another month is the same number). The record is written first, insert-only (a
first-write with no ETag), so two replicas cannot both claim a number; then the PDF is stored and the
email asked for; then the record is marked issued. A redelivery with the same content finishes what a
crash left (`issuing`) or does nothing (`issued`); other content is refused before anything is stored.
`issue` returns the record it leaves `issued`, from which the app publishes the document's event.

"Content" is the validated input in canonical JSON (`fingerprints.fingerprint`), never the PDF's bytes,
so a re-render after a font or library upgrade is the same document. Knows the ports, not Dapr.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NoReturn

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bindings.errors import ConflictError, NotFoundError, PermanentError, TransientError
from bindings.optimistic import retry_conflicts, write_back

if TYPE_CHECKING:
    from collections.abc import Callable

    from bindings.ports import BlobStore, Clock, StateItem, StateStore

KEY_PREFIX = "issued:"  # reserved in billing-state: the billing system writes no key under it


class Outcome(enum.Enum):
    """What `issue` did."""

    ISSUED = "issued"  # claimed the number, stored the PDF, asked for the email
    RESUMED = "resumed"  # finished an issue a crash (or a racing replica) left unfinished
    ALREADY_ISSUED = "already issued"  # the same content was issued before: nothing was done


@dataclass(frozen=True, slots=True)
class Document:
    """A document about to be issued: its type and number, its content's hash and its blob."""

    type: str
    number: str
    sha256: str
    blob: str

    @property
    def key(self) -> str:
        """The record's key: type and number, nothing else (not the month, not the template)."""
        return f"{KEY_PREFIX}{self.type}:{self.number}"


class Record(BaseModel):
    """What billing-state keeps of an issued (or issuing) document (version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    type: str
    number: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob: str
    state: Literal["issuing", "issued"]
    claimed_at: AwareDatetime
    issued_at: AwareDatetime | None = None

    def dump(self) -> bytes:
        """The record as stored: compact JSON, times in UTC with `Z`."""
        return self.model_dump_json().encode()


@dataclass(frozen=True, slots=True)
class Issued:
    """What `issue` did, the record it leaves `issued`, and the PDF's size when this call stored it."""

    outcome: Outcome
    record: Record
    size: int | None = None  # None: nothing stored (ALREADY_ISSUED); the record's blob holds the PDF


def issue(
    state: StateStore,
    document: Document,
    *,
    clock: Clock,
    documents: BlobStore,
    render: Callable[[], bytes],
    deliver: Callable[[bytes], object],
) -> Issued:
    """Issue `document` once: `render` its PDF, `deliver` it (store, then email), record it.

    Other content under an issued or issuing number raises `PermanentError` before anything is
    rendered or stored, and so does a number without a record whose blob already exists (issued
    before records were kept: nothing can tell whether its content is the same). A render failure
    claims nothing. From the claim on, every step is safe to repeat: the blob's name and the email's
    request id depend only on the document. Returns the record as it is once issued.
    """
    record = _read(state, document)
    if record is None and _stored(documents, document):  # a racing replica's, or an older release's
        record = _read(state, document) or _unrecorded(document)
    if record is not None and record.state == "issued":
        return Issued(Outcome.ALREADY_ISSUED, record)
    pdf = render()
    outcome = Outcome.RESUMED
    if record is None:
        record, outcome = _claim(state, document, clock), Outcome.ISSUED
        if record.state == "issued":  # a racing replica finished the same document meanwhile
            return Issued(Outcome.ALREADY_ISSUED, record)
    deliver(pdf)
    issued = retry_conflicts(lambda: _mark_issued(state, document, clock), tries=3)
    return Issued(outcome, issued, len(pdf))


def _stored(documents: BlobStore, document: Document) -> bool:
    """Whether the document's blob exists."""
    try:
        documents.get(document.blob)
    except NotFoundError:
        return False
    return True


def _unrecorded(document: Document) -> NoReturn:
    """Refuse a number whose blob exists without a record: issued before records were kept."""
    raise PermanentError(
        f"{document.blob} exists but billing-state holds no issuance record for {document.type} "
        f"{document.number} (issued before issuance records, or the record was deleted): nothing was "
        f"overwritten or sent; compare it with this request and write the record ({document.key}) "
        "by hand, or issue a new number"
    )


def _read(state: StateStore, document: Document) -> Record | None:
    """The record under the document's key (None if none); `PermanentError` for other content."""
    return _checked(state.get(document.key), document)


def _checked(item: StateItem, document: Document) -> Record | None:
    if item.value is None:
        return None
    try:
        record = Record.model_validate_json(item.value)
    except ValidationError as error:
        raise PermanentError(
            f"{item.key} in billing-state is not an issuance record ({error.error_count()} errors); "
            f"{document.type} {document.number} was not issued again"
        ) from error
    if record.sha256 != document.sha256:
        when = record.issued_at or record.claimed_at
        state = "already issued" if record.state == "issued" else "already issued (unfinished)"
        raise PermanentError(
            f"{document.type} {document.number} is {state} on {when:%Y-%m-%dT%H:%M:%SZ} as {record.blob} "
            f"with other content (sha256 {record.sha256[:16]}…, this one {document.sha256[:16]}…"
            f"{'' if record.blob == document.blob else f', for {document.blob}'}): an issued document "
            "never changes, so nothing was stored or sent; issue a new number (e.g. a correction) instead"
        )
    return record


def _claim(state: StateStore, document: Document, clock: Clock) -> Record:
    """Insert the `issuing` record; on a lost first-write, the winner's record (checked)."""
    now = clock.now()
    claim = Record(
        type=document.type, number=document.number, sha256=document.sha256, blob=document.blob,
        state="issuing", claimed_at=now,
    )  # fmt: skip
    try:
        state.create(document.key, claim.dump())
    except ConflictError:
        winner = _read(state, document)
        if winner is None:  # created, then deleted (by hand) in between: let the redelivery decide
            raise TransientError(f"{document.key} changed while being claimed") from None
        return winner
    return claim


def _mark_issued(state: StateStore, document: Document, clock: Clock) -> Record:
    """Mark the record issued (guarded by its ETag) and return it; one already issued is left as it is."""
    item = state.get(document.key)
    record = _checked(item, document)
    if record is not None and record.state == "issued":
        return record
    if record is None:  # deleted by hand after the claim: record what was just issued
        record = Record(
            type=document.type, number=document.number, sha256=document.sha256, blob=document.blob,
            state="issuing", claimed_at=clock.now(),
        )  # fmt: skip
    done = record.model_copy(update={"state": "issued", "issued_at": clock.now()})
    write_back(state, item, done.dump())
    return done
