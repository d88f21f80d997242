"""Decline classification: may the dunning schedule retry this charge, and what may the customer see?

Vocabulary is Stripe's. Each policy version carries a decline table; `classify` asks it. The table
looks a decline up by `decline_code`, or by the top-level `code` when there is none (expired_card,
incorrect_cvc, insufficient_funds and processing_error often arrive that way).

This module holds the table of policy v1 (`DeclineTable`: code lists by class plus advice overrides);
from v2 on the table states every cell, code class by issuer advice (`decline_matrix.DeclineMatrix`).
The v1 rules, in order:

- a fraud code (fraudulent, lost_card, stolen_card, ...) is never retried on this card, whatever the
  advice, and the customer only ever sees `generic_decline`. Like a hard decline, the case waits for a
  PaymentMethodUpdated: a new card is a new card, and if it is blocked too it declines as fraud again;
- otherwise an issuer `advice_code` the policy knows overrides the code's class
  (do_not_try_again and confirm_card_data: hard; try_again_later: soft);
- a code the table does not list is hard (no blind retries), marked `known=False` and shown to the
  customer as `generic_decline`, since a code we have never seen may be a fraud signal.

Which processor answers are declines at all is decided in `answers.py`, not here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, model_validator

if TYPE_CHECKING:
    from functions.common.payments import Decline
    from functions.payment_retry.policy import Policy

GENERIC_DECLINE = "generic_decline"
DeclineKind = Literal["soft", "hard", "fraud"]
AdviceKind = Literal["soft", "hard"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdviceOverrides(_Frozen):
    """The class each issuer advice code imposes on a soft or hard code; unset means no override."""

    do_not_try_again: AdviceKind | None = None
    try_again_later: AdviceKind | None = None
    confirm_card_data: AdviceKind | None = None

    def kind_of(self, advice_code: str | None) -> AdviceKind | None:
        """Return the class `advice_code` imposes, None for no or an unknown advice code."""
        overrides = {
            "do_not_try_again": self.do_not_try_again,
            "try_again_later": self.try_again_later,
            "confirm_card_data": self.confirm_card_data,
        }
        return overrides.get(advice_code or "")


class DeclineTable(_Frozen):
    """A policy's decline (or error) codes by class, and its advice-code overrides."""

    soft: frozenset[str]
    hard: frozenset[str]
    fraud: frozenset[str]
    advice: AdviceOverrides

    @model_validator(mode="after")
    def _check(self) -> DeclineTable:
        clash = (self.soft & self.hard) | (self.soft & self.fraud) | (self.hard & self.fraud)
        if clash:
            raise ValueError(f"decline codes listed in more than one class: {sorted(clash)}")
        return self

    def kind_of(self, code: str) -> DeclineKind | None:
        """Return the class listed for `code`, None when no class lists it."""
        classes: tuple[tuple[DeclineKind, frozenset[str]], ...] = (
            ("soft", self.soft),
            ("hard", self.hard),
            ("fraud", self.fraud),
        )
        return next((kind for kind, codes in classes if code in codes), None)

    def classify(self, decline: Decline) -> DeclineClass:
        """Classify `decline` by the v1 rules in this module's docstring."""
        reason = decline.decline_code or decline.code
        listed = self.kind_of(reason)
        if listed == "fraud":
            return DeclineClass(
                kind="fraud", retry=False, customer_code=GENERIC_DECLINE, reason_code=reason, known=True
            )
        override = self.advice.kind_of(decline.advice_code)
        kind: DeclineKind = override or listed or "hard"
        return DeclineClass(
            kind=kind,
            retry=kind == "soft",
            customer_code=reason if listed else GENERIC_DECLINE,
            reason_code=reason,
            known=listed is not None,
            advice_code=decline.advice_code if override else None,
        )


class DeclineClass(_Frozen):
    """What a decline means for the case."""

    kind: str  # the class: v1 says soft, hard or fraud after the advice; v2 names the table's class
    retry: bool  # retry on the schedule; otherwise wait for a PaymentMethodUpdated
    customer_code: str  # the code the customer may be shown
    reason_code: str  # the code the class was looked up by
    known: bool  # whether the policy's table lists `reason_code`
    advice_code: str | None = None  # the advice code the outcome was read under, if the table knows it
    retry_after: timedelta = timedelta(0)  # the least wait before retrying this card


def classify(decline: Decline, policy: Policy) -> DeclineClass:
    """Classify `decline` with the decline table of `policy`."""
    return policy.declines.classify(decline)
