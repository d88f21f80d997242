"""Domain events: one per effect that happened, published on the `domain-events` pub/sub (issue 18).

An app publishes an event only after the effect is recorded (dunning: from the case's outbox, written
with the case; email: after email-send's record or email-events' timeline is written; documents: after
receipt-render's issuance record says issued; both before the message is acknowledged, so a failed
publish redelivers it), so none is published for an effect that did not
happen, and at least once for one that did. Each event's id is deterministic (the same effect always
has the same id) and is its CloudEvent id, so a subscriber counts an effect once however often it is
published. Topics are the publishing domains; `docs/architecture.md` (*Domain events*) lists each
topic's events, versions, publisher and subscribers.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Final, Literal, TypeGuard

from pydantic import AwareDatetime, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from bindings.messages import DEAD_LETTER_TOPIC, Message
from functions.common import money, names

if TYPE_CHECKING:
    from pydantic import BaseModel

    from bindings.ports import Publisher

# Topics of `names.DOMAIN_EVENTS`, one per publishing domain.
DUNNING: Final = "dunning"
EMAIL: Final = "email"
DOCUMENTS: Final = "documents"
DEAD_LETTERS: Final = DEAD_LETTER_TOPIC  # the framework's `DeadLetterEvent`, from every app given a publisher
# The outbox name dunning sends its events under (`TopicQueue` over `DUNNING` in the app).
DUNNING_QUEUE: Final = f"{names.DOMAIN_EVENTS}/{DUNNING}"

ID = r"^[A-Za-z0-9_.:@-]{1,120}$"  # case, customer and request ids on events
TEMPLATE = r"^[a-z_]{1,40}$"  # an email step, as `EmailRequested.template`
DunningEventType = Literal[
    "case.opened", "attempt.charged", "case.recovered", "case.abandoned", "case.canceled"
]
ChargeOutcome = Literal["paid", "declined", "needs_customer"]
CLOSES: Final[frozenset[DunningEventType]] = frozenset({"case.recovered", "case.abandoned", "case.canceled"})


def dunning_event_id(kind: DunningEventType, case_id: str, attempt: int | None = None) -> str:
    """The id of a dunning effect: `{case}:opened`, `{case}:attempt:{n}`, `{case}:recovered`..."""
    if kind == "attempt.charged":
        return f"{case_id}:attempt:{attempt}"
    return f"{case_id}:{kind.removeprefix('case.')}"


class DunningEvent(Message):
    """A dunning effect: a case opened, an attempt charged, a case recovered, abandoned, canceled.

    `occurred_at` is the moment dunning recorded the effect: the day it is counted under. `amount` (minor
    units of `currency`, upper case as the case holds it) is the case's payment: what was failed, charged,
    recovered, given up or settled elsewhere. An `attempt.charged` is a charge the processor answered
    (`paid`, `declined`, or `needs_customer`: declined for the cardholder's authentication) and carries
    its `attempt` number; a declined one the policy's `decline_class` (soft, hard, fraud... as the
    policy's table names it) and the `decline_code` it was classed by. An attempt the processor refused,
    or whose answer is in doubt, charged nothing and has no event.

    Version 2 adds three fields (a version 1 event has none of them; both versions stay readable):
    - `failed_at`: when the case's payment failed (the case's `failed_at`); on every version 2 event.
    - `step`: the case's step after this effect: how many of its charges the processor answered, this
      one included (0 on `case.opened`). None for a case opened before version 2 (its life was not all
      counted), and on a charge answered after its case's close was recorded (the close counted it off).
    - `email_step`: on a close only, the last ladder email dunning had sent before it; None if none.
    """

    version: Literal[1, 2] = 2
    type: DunningEventType
    event_id: str = Field(
        pattern=r"^[A-Za-z0-9_.:@-]{1,160}$", description="deterministic: see `dunning_event_id`"
    )
    case_id: str = Field(pattern=ID)
    customer_id: str = Field(pattern=ID)
    occurred_at: AwareDatetime
    amount: int = Field(gt=0, le=money.MAX_MINOR, description="minor units of `currency`")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    attempt: int | None = Field(default=None, ge=1, le=1000)
    outcome: ChargeOutcome | None = None
    decline_class: str | None = Field(default=None, pattern=r"^[a-z][a-z_]{0,79}$")
    decline_code: str | None = Field(default=None, min_length=1, max_length=200)  # the processor's, as given
    failed_at: AwareDatetime | None = None  # version 2 (see above), as the next two
    step: int | None = Field(default=None, ge=0, le=1000)
    email_step: str | None = Field(default=None, pattern=TEMPLATE)

    @model_validator(mode="after")
    def _consistent(self) -> DunningEvent:
        charge = (self.attempt, self.outcome)
        declined = (self.decline_class, self.decline_code)
        if self.type != "attempt.charged" and (charge != (None, None) or declined != (None, None)):
            raise ValueError(f"{self.type} has no attempt, outcome or decline")
        if self.type == "attempt.charged":
            if None in charge:
                raise ValueError("attempt.charged needs its attempt and outcome")
            if self.outcome == "paid" and declined != (None, None):
                raise ValueError("a paid attempt has no decline_class or decline_code")
            if self.outcome != "paid" and None in declined:
                raise ValueError(f"a {self.outcome} attempt needs its decline_class and decline_code")
        expected = dunning_event_id(self.type, self.case_id, self.attempt)
        if self.event_id != expected:
            raise ValueError(f"event_id of this {self.type} is {expected!r}, not {self.event_id!r}")
        return self._stepped()

    @model_serializer(mode="wrap")
    def _dumped(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        """Version 2's fields left out when None: a version 1 event is written exactly as before them."""
        data: dict[str, object] = handler(self)
        return {key: value for key, value in data.items() if key not in _V2 or value is not None}

    def _stepped(self) -> DunningEvent:
        """Version 2's fields: none in version 1; `failed_at` always, `step` and `email_step` as typed."""
        if self.version == 1:
            given = [name for name in _V2 if getattr(self, name) is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: fields of version 2, in a version 1 event")
            return self
        if self.failed_at is None:
            raise ValueError("a version 2 event needs failed_at")
        if self.step is not None and self.type == "case.opened" and self.step != 0:
            raise ValueError(f"case.opened is step 0, not {self.step}")
        if self.step is not None and self.type == "attempt.charged" and self.step < 1:
            raise ValueError("attempt.charged is step 1 or more: it counts its own charge")
        if self.email_step is not None and self.type not in CLOSES:
            raise ValueError(f"{self.type} has no email_step: only a close does")
        return self


_V2: Final = ("failed_at", "step", "email_step")  # the fields `DunningEvent` version 2 added

EmailEventType = Literal[
    "email.sent", "email.suppressed", "email.delivered", "email.bounced", "email.opened", "email.clicked"
]
# Events the provider reports (SendGrid's webhook, through email-events); the others are email-send's.
PROVIDER_EVENTS: Final = frozenset({"email.delivered", "email.bounced", "email.opened", "email.clicked"})


def fits(value: object, pattern: str) -> TypeGuard[str]:
    """Whether `value` is a string an event field of `pattern` (`ID`, `TEMPLATE`) accepts."""
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


UNKNOWN_TEMPLATE: Final = "unknown"  # a provider event of a mail sent without its template tag


def email_event_id(kind: EmailEventType, request_id: str, provider_event_id: str | None = None) -> str:
    """The id of an email effect: `{request}:sent`, `{request}:suppressed`, or with the provider's event.

    A provider event's id ends in a digest of its `sg_event_id` (any length and characters): `{request}:
    delivered:{24 hex}`. SendGrid repeats an event with its `sg_event_id`, so its id repeats too.
    """
    name = f"{request_id}:{kind.removeprefix('email.')}"
    if provider_event_id is None:
        return name
    return f"{name}:{hashlib.sha256(provider_event_id.encode()).hexdigest()[:24]}"


class EmailEvent(Message):
    """An email effect (version 1): sent or suppressed by email-send; delivered, bounced, opened, clicked.

    - `email.sent`: email-send recorded the request `sent` (the provider took the mail);
    - `email.suppressed`: not sent, the address being suppressed: by email-send (our suppression list,
      no `provider_event_id`) or by SendGrid (its `dropped`: its own suppressions or an invalid address);
    - `email.delivered`, `email.opened`, `email.clicked`: SendGrid's `delivered`, `open`, `click`;
    - `email.bounced`: SendGrid's `bounce`, `permanent` unless its type is `blocked` (a refusal the
      address may recover from; a permanent one suppresses the address).

    SendGrid's `processed` (the provider took it: `email.sent`), `deferred` (still trying), `spamreport`,
    `unsubscribe` and `group_unsubscribe` (they feed the suppression list) are not published in version 1.
    `occurred_at` is when the effect happened: the send's record, or SendGrid's timestamp. `template` is
    the email step (`payment_failed`, `reminder`...; `unknown` on a provider event of a mail sent before
    email-send tagged it); `case_id` the dunning case, when the request's data names one.
    """

    version: Literal[1] = 1
    type: EmailEventType
    event_id: str = Field(pattern=r"^[A-Za-z0-9_.:@-]{1,160}$", description="see `email_event_id`")
    request_id: str = Field(pattern=ID)
    template: str = Field(pattern=TEMPLATE)
    occurred_at: AwareDatetime
    case_id: str | None = Field(default=None, pattern=ID)
    provider_event_id: str | None = Field(default=None, min_length=1, max_length=200)  # sg_event_id
    permanent: bool | None = None  # email.bounced only

    @model_validator(mode="after")
    def _consistent(self) -> EmailEvent:
        if self.type in PROVIDER_EVENTS and self.provider_event_id is None:
            raise ValueError(f"{self.type} is the provider's: it needs its provider_event_id")
        if self.type == "email.sent" and self.provider_event_id is not None:
            raise ValueError("email.sent is email-send's: it has no provider_event_id")
        if (self.type == "email.bounced") != (self.permanent is not None):
            raise ValueError("permanent is set on email.bounced, and only there")
        expected = email_event_id(self.type, self.request_id, self.provider_event_id)
        if self.event_id != expected:
            raise ValueError(f"event_id of this {self.type} is {expected!r}, not {self.event_id!r}")
        return self


class TopicQueue:
    """A `Queue` that publishes each message on one topic, with the message's `event_id` as CloudEvent id.

    An outbox sends through it as through a queue; a `TransientError` from the publisher leaves the
    message in the outbox for the next flush.
    """

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self.publisher = publisher
        self.topic = topic

    def send(self, message: BaseModel) -> None:
        """Publish `message` on the topic; it must carry its `event_id`."""
        event_id = getattr(message, "event_id", None)
        if not isinstance(event_id, str):
            raise TypeError(f"{type(message).__name__} has no event_id to publish on {self.topic!r} under")
        self.publisher.publish(self.topic, message, event_id=event_id)
