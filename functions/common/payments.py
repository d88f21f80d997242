"""The card-processor port: what to charge, what can come of it, and the protocol an adapter implements.

The outcomes are the processor's neutral vocabulary; an adapter (`functions.common.stripe_gateway`)
translates its processor's answers into them, in one place. Money never moves on a guess, and a
customer never hears of our own mistakes:

- `Paid`: the processor says the money was collected;
- `Declined`: a real card decline, with the processor's codes (`Decline`), and nothing else;
- `NeedsCustomer`: the issuer wants the cardholder present (3-D Secure): no blind retry; the customer
  is asked to act, on the processor's hosted page for the payment when the case knows one (an
  invoice's, from `payment.failed` version 3); `link` is an adapter's own page, noted on the timeline;
- `Later`: the processor is busy or failing (429, 5xx, a concurrent request holding the key): ask
  again later with the same idempotency key; not a decline;
- `Refused`: the processor refused our request (its fault is ours): nothing was charged; the case waits
  for an operator, and the customer is neither mailed nor cancelled;
- `InDoubt`: an answer that does not say what happened: the charge may have gone through; the attempt
  keeps its key and the case waits for an operator.

No answer at all (a timeout, a cut connection) raises `TransientError`: the attempt is asked again
later with the same key, which replays whatever the processor did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

AUTHENTICATION_REQUIRED = "authentication_required"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Decline(BaseModel):
    """The processor's error object for a declined charge; its other fields (message, type...) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: str = Field(min_length=1)
    decline_code: str | None = None
    advice_code: str | None = None

    @property
    def wants_cardholder(self) -> bool:
        """The issuer asks for the cardholder (3-D Secure): `authentication_required` as either code."""
        return AUTHENTICATION_REQUIRED in (self.code, self.decline_code)


@dataclass(frozen=True, slots=True)
class ChargeOrder:
    """One attempt to collect a failed payment: charged under `key` however often it is asked.

    `invoice` names the processor's open invoice to pay (when the failed payment was one); otherwise
    a new charge is made for `amount` of `currency` from `customer`, with `payment_method` if known.
    """

    case_id: str
    attempt: int
    key: str
    amount: int
    currency: str
    customer: str
    payment_method: str | None = None
    invoice: str | None = None


class Paid(_Frozen):
    """The charge succeeded; `charge_id` is the processor's record of it."""

    charge_id: str = Field(min_length=1)


class Declined(_Frozen):
    """The card was declined: the policy's decline table decides what follows."""

    decline: Decline


class NeedsCustomer(_Frozen):
    """The issuer asks for the cardholder (authentication): wait for them, never retry blind."""

    decline: Decline
    reason: str
    link: str | None = None


class Later(_Frozen):
    """The processor is busy or failing: retry the same attempt with the same key later."""

    reason: str


class Refused(_Frozen):
    """The processor refused our request (its fault is ours): nothing was charged."""

    reason: str


class InDoubt(_Frozen):
    """The answer does not say what happened: the charge may have gone through."""

    reason: str


Answer = Paid | Declined | NeedsCustomer | Later | Refused | InDoubt


class PaymentGateway(Protocol):
    """A card processor: charge an order, answer in the neutral vocabulary above."""

    def charge(self, order: ChargeOrder) -> Answer:
        """Charge `order` under its key (a replay returns the first result); `TransientError` if no answer."""
