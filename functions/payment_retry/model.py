"""Dunning messages (the payment-events queue, versioned) and the case record kept in state."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from bindings.messages import Message
from functions.common import money
from functions.common.domain_events import DunningEvent
from functions.common.messages import EmailAddress, EmailRequested, ReceiptRequested, SubscriptionAction
from functions.common.payments import Decline
from functions.common.safe_links import PaymentPageUrl
from functions.common.subscription_actions import SubscriptionActionV2
from functions.payment_retry.operator_events import CaseRelease

# double_collected: our charge and another payment both collected it (see `doubles`); added in the
# release after record version 1 was first written, without a new record version.
CaseStatus = Literal["open", "retrying", "recovered", "abandoned", "canceled", "double_collected"]
OPEN_STATUSES: frozenset[str] = frozenset({"open", "retrying"})
_ID = r"^[A-Za-z0-9_.:@-]{1,120}$"


@functools.cache
def _currencies() -> frozenset[str]:
    from babel.core import get_global  # noqa: PLC0415 - loaded on the first payment event only

    table = get_global("territory_currencies")
    return frozenset(
        code for rows in table.values() for code, _start, end, tender in rows if end is None and tender
    )


class PaymentFailed(Message):
    """A charge failed at the processor: opens a dunning case (or is a duplicate of one)."""

    type: Literal["payment.failed"]
    version: Literal[1, 2, 3] = 1
    event_id: str = Field(pattern=_ID)
    payment_id: str = Field(pattern=_ID, description="the dunning case id")
    customer_id: str = Field(pattern=_ID)
    subscription_id: str = Field(pattern=_ID)
    email: EmailAddress
    amount: int = Field(gt=0, le=money.MAX_MINOR, description="minor units of `currency`")
    currency: str
    timezone: str = "UTC"
    locale: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    failed_at: AwareDatetime
    decline: Decline
    policy: str = Field(default="default", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    # Version 2: what the processor knows the payment by. With `invoice`, a retry pays that open
    # invoice; without, it charges `amount` anew, from `payment_method` when given.
    invoice: str | None = Field(default=None, pattern=_ID)
    payment_method: str | None = Field(default=None, pattern=_ID)
    # Version 3: the processor's hosted page where the customer completes the payment themselves
    # (Stripe's `hosted_invoice_url`): the link an email asking them to authenticate carries.
    payment_page_url: PaymentPageUrl | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.upper()
        if code not in _currencies():
            raise ValueError(f"{value!r} is not a current ISO 4217 currency")
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: "Europe" is a folder
            raise ValueError(f"{value!r} is not an IANA time zone") from error
        return value

    @model_validator(mode="after")
    def _payable_amount(self) -> PaymentFailed:
        money.check_minor(self.amount, self.currency)  # the limits every receipt and email take too
        _versioned(self, 2, "invoice", "payment_method")
        _versioned(self, 3, "payment_page_url")
        if self.payment_page_url is not None and self.invoice is None:
            raise ValueError("payment_page_url is the page of an invoice: it comes with `invoice`")
        return self


class PaymentSucceeded(Message):
    """The payment was settled outside dunning (the customer paid another way): closes the case."""

    type: Literal["payment.succeeded"]
    version: Literal[1] = 1
    event_id: str = Field(pattern=_ID)
    payment_id: str = Field(pattern=_ID)
    succeeded_at: AwareDatetime


class PaymentMethodUpdated(Message):
    """The customer has a new payment method: cases waiting on one are retried at once."""

    type: Literal["payment_method.updated"]
    version: Literal[1, 2] = 1
    event_id: str = Field(pattern=_ID)
    customer_id: str = Field(pattern=_ID)
    updated_at: AwareDatetime
    payment_method: str | None = Field(default=None, pattern=_ID, description="version 2: the new method")

    @model_validator(mode="after")
    def _fields_of_version(self) -> PaymentMethodUpdated:
        _versioned(self, 2, "payment_method")
        return self


def _versioned(event: PaymentFailed | PaymentMethodUpdated, since: int, *fields: str) -> None:
    """Refuse version `since`'s `fields` in an older event: a reader of its version would not know them."""
    given = [name for name in fields if getattr(event, name) is not None]
    if event.version < since and given:
        raise ValueError(f"{', '.join(given)}: fields of version {since}, in a version {event.version} event")


# What payment-events carries: the payment events and, from the release after version 1, an operator's
# `case.release` (`operator_events`); a replica of an older release dead-letters it as invalid.
AnyEvent = PaymentFailed | PaymentSucceeded | PaymentMethodUpdated | CaseRelease
PaymentEvent = Annotated[AnyEvent, Field(discriminator="type")]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Attempt(_Record):
    """One charge attempt; its idempotency key is persisted before the processor is called."""

    number: int = Field(ge=1)
    key: str
    started_at: datetime
    # refused: the processor refused our request (not a decline; nothing was charged)
    outcome: Literal["pending", "succeeded", "declined", "refused"] = "pending"
    finished_at: datetime | None = None
    decline_code: str | None = None
    charge_id: str | None = None
    deferrals: int = Field(
        default=0, ge=0, description="times put off: the processor busy, failing or silent"
    )


class Claim(_Record):
    """A replica's lease on a case while it charges; expired leases may be taken over."""

    owner: str
    until: datetime


class Outgoing(_Record):
    """A message the case owes a queue (or a topic): kept until sent, so a crash cannot lose it."""

    queue: str
    key: str
    # DunningEvent: from the release after issue 18's domain events, which an older replica cannot read
    message: EmailRequested | ReceiptRequested | SubscriptionAction | SubscriptionActionV2 | DunningEvent
    due_at: datetime


class Event(_Record):
    """One line of a case's timeline."""

    at: datetime
    what: str
    detail: str = ""
    event_id: str | None = None  # the payment event this entry records, so a redelivery is recognised


class Case(_Record):
    """A dunning case: one failed payment, from failure to recovery or give-up (record version 1)."""

    version: Literal[1] = 1
    case_id: str
    customer_id: str
    subscription_id: str
    email: str
    amount: int
    currency: str
    timezone: str
    locale: str
    policy: str
    policy_version: int
    failed_at: datetime
    # From payment.failed version 2 and payment_method.updated version 2 (added without a new record
    # version): the processor's invoice to pay, and the payment method to charge.
    invoice: str | None = None
    payment_method: str | None = None
    # From payment.failed version 3 (no new record version either): the processor's page for the
    # payment, mailed when the customer must act. Left out of the JSON when None, so a replica of the
    # release before it still reads every case without one.
    payment_page_url: str | None = None
    # Opened by the release of `DunningEvent` version 2, so every event of its life has a `step`. Left
    # out of the JSON when False, as `payment_page_url`, so an older replica reads every case before it.
    stepped: bool = False
    status: CaseStatus = "open"
    waiting_for_update: bool = False
    # Why the case waits for an operator (a refused request, an answer in doubt): meanwhile nothing is
    # charged, no new email is queued and the deadline does not give up on it.
    held: str | None = None
    next_charge_at: datetime | None = None
    last_email_at: datetime | None = None  # when the last email queued goes out (policy spacing)
    give_up_at: datetime
    attempts: tuple[Attempt, ...] = ()
    claim: Claim | None = None
    outbox: tuple[Outgoing, ...] = ()
    sent: tuple[str, ...] = Field(default=(), description="keys of the messages already sent")
    timeline: tuple[Event, ...] = ()

    @pydantic.model_serializer(mode="wrap")
    def _dumped(self, handler: pydantic.SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if data.get("payment_page_url") is None:  # pydantic 2.6 has no `exclude_if`
            data.pop("payment_page_url", None)
        if not data.get("stepped"):
            data.pop("stepped", None)
        return data

    @property
    def is_open(self) -> bool:
        """Still being dunned."""
        return self.status in OPEN_STATUSES

    def next_due(self) -> datetime | None:
        """The earliest moment something is owed: a message, a charge, or the give-up."""
        moments = [item.due_at for item in self.outbox]
        if self.is_open and self.held is None:
            moments.append(self.give_up_at)
            if self.next_charge_at is not None and not self.waiting_for_update:
                moments.append(self.next_charge_at)
        return min(moments, default=None)

    def noted(
        self, at: datetime, what: str, detail: str = "", event_id: str | None = None
    ) -> tuple[Event, ...]:
        """The timeline with one more entry."""
        return (*self.timeline, Event(at=at, what=what, detail=detail, event_id=event_id))

    def has_seen(self, event_id: str) -> bool:
        """Whether the timeline already records the payment event `event_id`."""
        return any(event.event_id == event_id for event in self.timeline)
