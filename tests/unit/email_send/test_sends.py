"""Send records: a request is sent at most once, a crash mid-send is marked unknown, suppression holds."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from bindings.errors import InDoubtError, PermanentError, TransientError
from bindings.testing import MemoryStateStore
from functions.common.mail import OutgoingMail
from functions.common.messages import EmailRequested
from functions.email_send.sends import SendRecord, Sends
from functions.email_send.templates import Brand, Templates

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
TEMPLATES = Templates(Brand(name="Acme", sender="billing@acme.example", portal_url="https://acme.example"))


class RecordingMailer:
    """A `Mailer` that keeps what it sent; `fail` makes the next send raise."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self.fail: Exception | None = None
        self.entered = threading.Event()
        self.release: threading.Event | None = None

    def send(self, mail: OutgoingMail) -> None:
        """Record, or raise `fail`; block on `release` when set."""
        self.entered.set()
        if self.release is not None:
            self.release.wait(5)
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure
        self.sent.append(mail)


def deliver(sends: Sends, request_id: str = "req-1", to: str = "ana@example.com") -> str:
    """Render and deliver a recovered email."""
    request = EmailRequested(
        request_id=request_id, template="recovered", to=to, data={"amount": 500, "currency": "USD"}
    )
    return sends.deliver(request, TEMPLATES.render(request), NOW)


def record(state: MemoryStateStore, request_id: str = "req-1") -> SendRecord:
    """The stored record."""
    value = state.get(f"email:{request_id}").value
    assert value is not None
    return SendRecord.model_validate_json(value)


def test_a_request_is_sent_once_and_recorded() -> None:
    """The first delivery sends with both parts; a redelivery finds the record and sends nothing."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example")
    assert deliver(sends) == "sent"
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1
    mail = mailer.sent[0]
    assert (mail.sender, mail.to, mail.cc, mail.bcc) == ("billing@acme.example", ("ana@example.com",), (), ())
    amount = format_currency(Decimal("5.00"), "USD", locale="en")  # CLDR's writing of 500 cents
    assert re.sub(r"\D", "", amount) == "500"  # the minor units in order, whatever CLDR's separators
    assert mail.subject == f"Payment received: {amount}"
    assert "<html" in mail.html
    assert mail.text.startswith("Thank you")
    assert mail.custom_args == {"request_id": "req-1", "email_template": "recovered"}
    assert record(state).status == "sent"


def test_a_transient_failure_leaves_no_record_so_the_retry_sends() -> None:
    """SMTP down: the error propagates for redelivery, and the redelivery sends exactly once."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example")
    mailer.fail = TransientError("smtp down")
    with pytest.raises(TransientError):
        deliver(sends)
    assert state.get("email:req-1").value is None
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1


def test_a_crash_between_send_and_record_is_marked_unknown_and_not_resent() -> None:
    """A record left at `sending` past the grace means the outcome is unknown: marked, and nothing sent."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example")
    stale = SendRecord(
        request_id="req-1", status="sending", to="ana@example.com", template="recovered",
        template_version=1, locale="en", subject="s", updated_at=NOW - timedelta(minutes=5),
    )  # fmt: skip
    state.create("email:req-1", stale.model_dump_json().encode())
    assert deliver(sends) == "unknown"
    assert mailer.sent == []
    assert record(state).status == "unknown"
    assert deliver(sends) == "unknown"
    assert mailer.sent == []


def test_a_send_cut_off_in_flight_is_marked_unknown_at_once_and_never_resent() -> None:
    """The sidecar died mid-send (the mail may have left): `unknown` now, acknowledged, not sent again."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example")
    mailer.fail = InDoubtError("send mail via email: UNAVAILABLE: Stream removed (Socket closed)")
    assert deliver(sends) == "unknown"
    assert record(state).status == "unknown"
    assert deliver(sends) == "unknown"
    assert mailer.sent == []


def test_concurrent_deliveries_of_one_request_send_once() -> None:
    """A copy arriving while the first is inside send() is retried later, then finds it sent."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    mailer.release = threading.Event()
    sends = Sends(state, mailer, "billing@acme.example")
    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(deliver(sends)))
    first.start()
    assert mailer.entered.wait(5)
    with pytest.raises(TransientError, match="being sent by another delivery"):
        deliver(sends)
    mailer.release.set()
    first.join(5)
    assert results == ["sent"]
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1
    assert record(state).status == "sent"


def test_a_suppressed_address_is_recorded_not_sent() -> None:
    """An address on the suppression list (any case) gets no mail; the record says why."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    state.create("suppressed:ana@example.com", b'{"reason": "bounce"}')
    sends = Sends(state, mailer, "billing@acme.example")
    assert deliver(sends, to="Ana@Example.com") == "suppressed"
    assert mailer.sent == []
    assert record(state).status == "suppressed"


def test_a_permanent_refusal_leaves_no_record_so_a_redrive_can_send() -> None:
    """The provider refused (4xx): the error propagates for the dead letter, and a redrive sends once."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example")
    mailer.fail = PermanentError("SendGrid refused the mail (400)")
    with pytest.raises(PermanentError):
        deliver(sends)
    assert state.get("email:req-1").value is None
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1


def test_an_unexpected_failure_in_send_leaves_the_outcome_unknown() -> None:
    """An exception that is not the port's own (sent or not?) keeps `sending`, so it is never resent."""
    state, mailer = MemoryStateStore(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example", grace=timedelta(0))
    mailer.fail = RuntimeError("connection reset after DATA")
    with pytest.raises(RuntimeError):
        deliver(sends)
    assert record(state).status == "sending"
    assert deliver(sends) == "unknown"
    assert mailer.sent == []


class BlinkingStore(MemoryStateStore):
    """A state store whose next `outages` saves and deletes fail as a restarting store's do."""

    def __init__(self, outages: int) -> None:
        super().__init__()
        self.outages = outages

    def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        """Fail while the outage lasts, then save."""
        self._blink()
        super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Fail while the outage lasts, then delete."""
        self._blink()
        super().delete(key, etag=etag)

    def _blink(self) -> None:
        if self.outages:
            self.outages -= 1
            raise TransientError("save state: INTERNAL: failed to connect to the state store")


def test_a_store_blip_after_the_send_still_records_it_sent() -> None:
    """The record write is tried again: a sent mail is not left `sending` (later read as `unknown`)."""
    state, mailer = BlinkingStore(outages=3), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example", record_retries=(0, 0, 0))
    assert deliver(sends) == "sent"
    assert record(state).status == "sent"
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1


def test_a_store_blip_after_a_refusal_still_clears_the_record_so_the_retry_sends() -> None:
    """SMTP and the store both down: the `sending` record is still removed, so nothing is lost."""
    state, mailer = BlinkingStore(outages=2), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example", record_retries=(0, 0, 0))
    mailer.fail = TransientError("smtp down")
    with pytest.raises(TransientError, match="smtp down"):
        deliver(sends)
    assert state.get("email:req-1").value is None
    assert deliver(sends) == "sent"
    assert len(mailer.sent) == 1


def test_a_store_down_longer_than_the_retries_fails_the_delivery_for_redelivery() -> None:
    """The write gives up after its retries: the error propagates, and the record stays `sending`."""
    state, mailer = BlinkingStore(outages=4), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example", record_retries=(0, 0, 0))
    with pytest.raises(TransientError, match="state store"):
        deliver(sends)
    assert record(state).status == "sending"
    assert len(mailer.sent) == 1


class LostDeleteReply(MemoryStateStore):
    """The first delete commits but its reply is lost; meanwhile another delivery writes its record."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = True

    def delete(self, key: str, *, etag: str | None = None) -> None:
        """Delete; the first time, let another record in and report a transient failure."""
        super().delete(key, etag=etag)
        if self.lost:
            self.lost = False
            self.save(key, b'{"another": "delivery"}')
            raise TransientError("connection reset after the delete")


def test_a_retried_delete_never_removes_another_deliverys_record() -> None:
    """After a lost delete reply, the retry's ETag check fails instead of deleting the new record."""
    state, mailer = LostDeleteReply(), RecordingMailer()
    sends = Sends(state, mailer, "billing@acme.example", record_retries=(0, 0))
    mailer.fail = TransientError("smtp down")
    with pytest.raises(TransientError, match="smtp down"):
        deliver(sends)
    assert state.get("email:req-1").value == b'{"another": "delivery"}'
