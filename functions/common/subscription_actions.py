"""Subscription actions (the `subscription-actions` queue) beyond version 1, and every version in flight.

Version 1 (`bindings.messages.SubscriptionAction`) tells the billing system what to do with a
subscription whose dunning gave up. Version 2 adds `refund_review`: the payment was collected twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bindings.messages import Message
from functions.common import money
from functions.common.messages import SubscriptionAction

_ID = r"^[A-Za-z0-9_.:@-]{1,120}$"


class DoubleCollection(BaseModel):
    """One payment collected twice: by dunning's charge and by another payment. One is to be refunded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payment_id: str = Field(pattern=_ID)
    amount: int = Field(gt=0, le=money.MAX_MINOR, description="minor units of `currency`, collected twice")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    charge_id: str = Field(min_length=1, max_length=255, description="dunning's charge, the processor's id")
    charge_key: str = Field(pattern=_ID, description="the idempotency key dunning charged it with")
    charged_at: datetime
    other_event_id: str = Field(pattern=_ID, description="the payment.succeeded that settled the payment too")
    other_succeeded_at: datetime


class SubscriptionActionV2(Message):
    """Version 2 of `SubscriptionAction`: adds `refund_review`, which names the double collection.

    Dunning sends version 1 for final actions still; version 2 only for a refund review. A consumer
    takes `SubscriptionActions` (either version) while any version 1 message can be in flight.
    """

    version: Literal[2] = 2
    action_id: str = Field(pattern=_ID)
    subscription_id: str = Field(pattern=_ID)
    case_id: str = Field(pattern=_ID)
    action: Literal["cancel", "mark_unpaid", "leave_past_due", "refund_review"]
    decided_at: datetime
    double_collection: DoubleCollection | None = None

    @model_validator(mode="after")
    def _refund_named(self) -> SubscriptionActionV2:
        if (self.action == "refund_review") != (self.double_collection is not None):
            raise ValueError("double_collection is given with, and only with, action refund_review")
        return self


SubscriptionActions = Annotated[SubscriptionAction | SubscriptionActionV2, Field(discriminator="version")]
"""Every subscription action version in flight: 1 (final actions), 2 (adds refund reviews)."""
