"""Versioned messages passed between function apps: what one app queues, another reads."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from bindings.messages import Message
from functions.common import addresses, money


class Heartbeat(Message):
    """The demo flow's message: a cron tick turned into a queue message (version 1).

    `id` is the tick's second, so replicas that receive the same tick write the same id and
    the archive stays one blob a tick.
    """

    version: Literal[1] = 1
    id: str = Field(pattern=r"^\d{8}T\d{6}Z$")
    fired_at: datetime


_ID = r"^[A-Za-z0-9_.:@-]{1,120}$"
# A plain mailbox address by the RFC 5321/5322 rules (`functions.common.addresses`), each refusal with its
# reason: no display name, quotes, spaces, or the `;` and `,` mail bindings split recipient lists on.
EmailAddress = Annotated[str, AfterValidator(addresses.check_address)]
EMAIL_ADDRESS = addresses.EMAIL_ADDRESS  # the rules a `Field(pattern=...)` can hold; prefer `EmailAddress`
_MAX_DATA_CHARS = 8_000


class EmailRequested(Message):
    """Ask email_send to send one templated email (version 1). Links only, never attachments."""

    version: Literal[1] = 1
    request_id: str = Field(pattern=_ID, description="sends are deduplicated on it")
    template: str = Field(pattern=r"^[a-z_]{1,40}$")
    template_version: int = Field(default=1, ge=1)
    locale: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    to: EmailAddress
    data: dict[str, str | int] = Field(default_factory=dict, max_length=40)

    @field_validator("data")
    @classmethod
    def _small(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        size = sum(len(key) + len(str(item)) for key, item in value.items())
        if size > _MAX_DATA_CHARS:
            raise ValueError(
                f"data holds {size} characters; at most {_MAX_DATA_CHARS} (links, never documents)"
            )
        return value


class ReceiptRequested(Message):
    """Ask receipt_render for a receipt (version 1): ids and amounts, never a document."""

    version: Literal[1] = 1
    request_id: str = Field(pattern=_ID)
    payment_id: str = Field(pattern=_ID)
    customer_id: str = Field(pattern=_ID)
    email: EmailAddress
    amount: int = Field(gt=0, le=money.MAX_MINOR, description="minor units, as the processor counts them")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: datetime
    locale: str = "en"

    @model_validator(mode="after")
    def _payable(self) -> ReceiptRequested:
        try:
            money.check_minor(self.amount, self.currency)  # the limits dunning checked on payment.failed
        except money.UnknownCurrencyError as error:
            raise ValueError(f"currency: {error}") from error
        return self


class ReceiptRequestedV2(Message):
    """Ask receipt_render for a receipt whose details the billing system left in `billing-state` (version 2).

    The details (customer, lines, tax) are too large for a queue message and change with the
    billing system, so the message carries only their key; the receipt is stored and mailed once.
    """

    version: Literal[2] = 2
    request_id: str = Field(pattern=_ID)
    receipt_id: str = Field(pattern=_ID)
    details_key: str = Field(pattern=_ID)
    customer_id: str = Field(pattern=_ID)
    email: EmailAddress
    locale: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    template_version: int = Field(default=1, ge=1)


ReceiptRequest = Annotated[ReceiptRequested | ReceiptRequestedV2, Field(discriminator="version")]
"""Every receipt request version still in flight: version 1 from dunning, version 2 from billing."""


class SubscriptionAction(Message):
    """Tell the billing system what to do with a subscription whose dunning gave up (version 1).

    Version 2, with `refund_review`, is `functions.common.subscription_actions.SubscriptionActionV2`.
    """

    version: Literal[1] = 1
    action_id: str = Field(pattern=_ID)
    subscription_id: str = Field(pattern=_ID)
    case_id: str = Field(pattern=_ID)
    action: Literal["cancel", "mark_unpaid", "leave_past_due"]
    decided_at: datetime


class EmailEventBatch(Message):
    """A verified SendGrid event-webhook POST, passed on unparsed (version 1).

    The webhook checks the signature over the raw bytes and the timestamp's freshness, then
    enqueues the body as it came; `email_events` parses and applies it.
    """

    version: Literal[1] = 1
    batch_id: str = Field(pattern=_ID, description="the signature's hash: a replayed POST has the same id")
    received_at: datetime
    body: str = Field(max_length=5_000_000)
