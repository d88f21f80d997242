"""email-send publishes one `EmailEvent` per recorded send or suppression, at least once, never re-sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bindings.errors import TransientError
from bindings.testing import MemoryPublisher, MemoryStateStore
from functions.common import domain_events, suppression
from functions.common.domain_events import EmailEvent
from functions.common.messages import EmailRequested
from functions.common.suppression import SuppressionList
from functions.email_send import app as email_send
from functions.email_send.sends import SendRecord, Sends
from functions.email_send.templates import Brand, Templates
from tests.unit.email_send.test_sends import RecordingMailer

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
TEMPLATES = Templates(Brand(name="Acme", sender="billing@acme.example", portal_url="https://acme.example"))


class Stack:
    """email-send's handler over memory doubles: its state, mailer and publisher."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.state, self.mailer, self.publisher = MemoryStateStore(), RecordingMailer(), MemoryPublisher()
        sends = Sends(self.state, self.mailer, "billing@acme.example")
        monkeypatch.setattr(email_send, "sends", lambda: sends)
        monkeypatch.setattr(email_send, "templates", lambda: TEMPLATES)
        monkeypatch.setattr(email_send.clock, "now", lambda: NOW)
        queue = domain_events.TopicQueue(self.publisher, domain_events.EMAIL)
        monkeypatch.setattr(email_send, "email_events", queue)

    def events(self) -> list[tuple[str, str, EmailEvent]]:
        """(topic, CloudEvent id, event) of each publish."""
        return [(t, i, e) for t, i, e in self.publisher.published if isinstance(e, EmailEvent)]


def request(request_id: str = "req-1", to: str = "ana@example.com", **data: str | int) -> EmailRequested:
    """A `recovered` email request."""
    return EmailRequested(
        request_id=request_id, template="recovered", to=to, data={"amount": 500, "currency": "USD", **data}
    )


def test_a_send_publishes_one_email_sent_with_its_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sent request publishes `email.sent` on `email`: id `{request}:sent`, its template, case and time."""
    stack = Stack(monkeypatch)
    email_send.on_email_requested(request(case_id="pay_1"))
    ((topic, event_id, event),) = stack.events()
    assert (topic, event_id, event.event_id) == ("email", "req-1:sent", "req-1:sent")
    assert (event.type, event.request_id, event.template, event.case_id) == (
        "email.sent", "req-1", "recovered", "pay_1",
    )  # fmt: skip
    assert event.occurred_at == NOW
    assert stack.mailer.sent[0].custom_args == {
        "request_id": "req-1", "email_template": "recovered", "case_id": "pay_1",
    }  # fmt: skip


def test_a_suppressed_address_publishes_email_suppressed_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A suppressed address: no mail, one `email.suppressed` with id `{request}:suppressed`, no case."""
    stack = Stack(monkeypatch)
    stack.state.create(suppression.key("ana@example.com"), b"{}")
    assert "ana@example.com" in SuppressionList(stack.state)
    email_send.on_email_requested(request())
    assert stack.mailer.sent == []
    ((_, event_id, event),) = stack.events()
    assert (event_id, event.type, event.case_id, event.provider_event_id) == (
        "req-1:suppressed", "email.suppressed", None, None,
    )  # fmt: skip


def test_a_redelivered_request_publishes_the_same_event_again_and_sends_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redelivery sends nothing and publishes the same id and time: the aggregator counts it once."""
    stack = Stack(monkeypatch)
    email_send.on_email_requested(request())
    monkeypatch.setattr(email_send.clock, "now", lambda: NOW + timedelta(hours=1))
    email_send.on_email_requested(request())
    assert len(stack.mailer.sent) == 1
    first, second = stack.events()
    assert first == second


def test_a_failed_publish_redelivers_and_the_retry_publishes_without_resending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The publish fails after the send is recorded: TransientError; the retry publishes, mail sent once."""
    stack = Stack(monkeypatch)
    stack.publisher.fail = TransientError("service bus unavailable")
    with pytest.raises(TransientError):
        email_send.on_email_requested(request())
    assert stack.events() == []
    assert len(stack.mailer.sent) == 1
    stack.publisher.fail = None
    email_send.on_email_requested(request())
    assert len(stack.mailer.sent) == 1
    assert [event_id for _, event_id, _ in stack.events()] == ["req-1:sent"]


def test_no_event_for_a_send_that_failed_or_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused send (nothing recorded) and a send whose outcome is unknown publish nothing."""
    stack = Stack(monkeypatch)
    stack.mailer.fail = TransientError("smtp down")
    with pytest.raises(TransientError):
        email_send.on_email_requested(request())
    unknown = SendRecord(
        request_id="req-2", status="unknown", to="ana@example.com", template="recovered",
        template_version=1, locale="en", subject="s", updated_at=NOW,
    )  # fmt: skip
    stack.state.create("email:req-2", unknown.model_dump_json().encode())
    email_send.on_email_requested(request("req-2"))
    assert stack.events() == []
    assert stack.mailer.sent == []
