"""Send each email request at most once, with a record in state before and after the send.

Key `email:{request_id}` holds a `SendRecord`. The record is created (first write wins) as
`sending` before the mail goes out and saved as `sent` after. A redelivered request finds the
record and is not sent again. A request found `sending` for less than `grace` is being sent by
another delivery right now: this one is retried later (`TransientError`). Found `sending` for
longer, a process died between the two writes: whether the mail left is unknown, so it is marked
`unknown` and *not* resent — a missed email can be resent by hand (`bindery emails --status
unknown`), a duplicate cannot be taken back. The writes after the send (`sent`, or removing the
record when the provider refused) are tried again for a few seconds while the store is unavailable:
a state-store restart must not make a sent mail look `unknown`, nor lose a refused one. A send cut
off in flight (`InDoubtError`: the sidecar died or the connection broke after the request left) may
have delivered the mail: it is marked `unknown` at once and not resent.
An address on the suppression list (`functions.common.suppression`) is recorded as `suppressed` and not sent.
The mail's custom args (`publications.tags`) name the request, its template and case for SendGrid's events.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from bindings.errors import BinderyError, ConflictError, InDoubtError, TransientError
from functions.common.mail import OutgoingMail
from functions.common.suppression import SuppressionList
from functions.email_send.publications import tags

if TYPE_CHECKING:
    from collections.abc import Callable

    from bindings.ports import StateStore
    from functions.common.mail import Mailer
    from functions.common.messages import EmailRequested
    from functions.email_send.templates import Rendered

_log = logging.getLogger(__name__)
Status = Literal["sending", "sent", "unknown", "suppressed"]


class SendRecord(BaseModel):
    """What happened to one email request (record version 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: Literal[1] = 1
    request_id: str
    status: Status
    to: str
    template: str
    template_version: int
    locale: str
    subject: str
    updated_at: datetime


class Sends:
    """The send records and the suppression list over a `StateStore`, and the mailer."""

    def __init__(
        self,
        state: StateStore,
        mailer: Mailer,
        sender: str,
        *,
        grace: timedelta = timedelta(seconds=60),
        record_retries: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    ) -> None:
        self._state = state
        self._mailer = mailer
        self._sender = sender
        self._grace = grace  # longer than any send takes
        # Pauses between tries of the record write after the send: a store blip must not leave a
        # `sending` record behind, which would later read as `unknown` (sent mail) or lose a refused one.
        self._record_retries = record_retries
        self._suppressed = SuppressionList(state)

    def deliver(self, request: EmailRequested, email: Rendered, now: datetime) -> Status:
        """Send `email` for `request` unless it was handled before; return what the record says now."""
        key = f"email:{request.request_id}"
        record = SendRecord(
            request_id=request.request_id, status="sending", to=request.to, template=email.template,
            template_version=email.template_version, locale=email.locale, subject=email.subject,
            updated_at=now,
        )  # fmt: skip
        seen = self._state.get(key)
        if seen.value is not None:
            return self._again(SendRecord.model_validate_json(seen.value), seen.etag, now)
        if self.suppressed(request.to):
            _log.info("email %s not sent: %s is suppressed", request.request_id, request.to)
            conflict = self._create(key, record.model_copy(update={"status": "suppressed"}))
            return conflict or "suppressed"
        if self._create(key, record) is not None:
            raise TransientError(f"email {request.request_id} is being sent by another delivery")
        mail = OutgoingMail(
            sender=self._sender, to=(request.to,), subject=email.subject, html=email.html, text=email.text,
            custom_args=tags(request),
        )  # fmt: skip
        try:
            self._mailer.send(mail)
        except InDoubtError as error:
            return self._in_doubt(key, record, now, error)
        except BinderyError:
            # The provider refused or was unreachable: nothing was sent, so a retry (or a redrive of
            # the dead letter) may send. Any other exception leaves `sending`: the outcome is unknown.
            self._recording(_Drop(self._state, key))
            raise
        sent = record.model_copy(update={"status": "sent", "updated_at": now}).model_dump_json().encode()
        try:
            self._recording(lambda: self._state.save(key, sent))
        except TransientError:
            _log.exception("email %s WAS sent, but its record could not say so", request.request_id)
            raise
        return "sent"

    def _in_doubt(self, key: str, record: SendRecord, now: datetime, error: InDoubtError) -> Status:
        """The send was cut off after it left: say `unknown` now (a redelivery would say it after `grace`)."""
        _log.error(
            "email %s: the send was cut off, whether it left is unknown; not resent: %s",
            record.request_id,
            error,
        )
        unknown = (
            record.model_copy(update={"status": "unknown", "updated_at": now}).model_dump_json().encode()
        )
        self._recording(lambda: self._state.save(key, unknown))
        return "unknown"

    def _recording(self, write: Callable[[], None]) -> None:
        """Run a record write, trying again after each pause of `record_retries` while it is transient."""
        for pause in (*self._record_retries, None):
            try:
                write()
            except TransientError:
                if pause is None:
                    raise
                _log.warning(
                    "email record not written (state store unavailable); trying again in %.1fs", pause
                )
                time.sleep(pause)
            else:
                return

    def record(self, request_id: str) -> SendRecord | None:
        """The record of `request_id`, if it has one."""
        value = self._state.get(f"email:{request_id}").value
        return SendRecord.model_validate_json(value) if value else None

    def suppressed(self, address: str) -> bool:
        """True when `address` is on the suppression list."""
        return address in self._suppressed

    def _create(self, key: str, record: SendRecord) -> Status | None:
        try:
            self._state.create(key, record.model_dump_json().encode())
        except ConflictError:
            return "sending"
        return None

    def _again(self, record: SendRecord, etag: str | None, now: datetime) -> Status:
        if record.status != "sending":
            _log.info("email %s already %s: not sent again", record.request_id, record.status)
            return record.status
        if now - record.updated_at < self._grace:
            raise TransientError(f"email {record.request_id} is being sent by another delivery")
        _log.warning(
            "email %s was being sent when its process stopped: outcome unknown, not resent", record.request_id
        )
        unknown = record.model_copy(update={"status": "unknown", "updated_at": now})
        try:
            self._state.save(f"email:{record.request_id}", unknown.model_dump_json().encode(), etag=etag)
        except ConflictError:
            raise TransientError(f"email {record.request_id} changed while marking it unknown") from None
        return "unknown"


class _Drop:
    """Delete our own `sending` record; safe to try again after a lost reply.

    The ETag is read once: a retry after a delete that did commit then fails the ETag check (the key
    is gone, or another delivery's record is there now) instead of deleting someone else's record.
    """

    def __init__(self, state: StateStore, key: str) -> None:
        self._state, self._key = state, key
        self._etag: str | None = None

    def __call__(self) -> None:
        if self._etag is None:
            item = self._state.get(self._key)
            if item.value is None or item.etag is None:
                return
            self._etag = item.etag
        try:
            self._state.delete(self._key, etag=self._etag)
        except ConflictError:
            return  # already deleted by an earlier try, or no longer ours
