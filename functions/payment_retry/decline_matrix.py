"""The decline table of policy v2 on: every cell stated, code class by issuer advice, nothing implied.

Each class lists its codes, what the customer is shown (`code`, or `generic_decline` for fraud), the
least wait before the same card is charged again, and one cell per advice column: `retry` (on the
schedule) or `wait` (for a PaymentMethodUpdated). The columns are `none` (no advice_code, or one the
table does not name) and Stripe's `do_not_try_again`, `try_again_later` and `confirm_card_data`. A
code no class lists takes the `unlisted` row and is marked `known=False`. A class whose every cell is
`wait` is never retried on this card whatever the advice: the table says so, not a rule in code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.payment_retry.declines import GENERIC_DECLINE, DeclineClass

if TYPE_CHECKING:
    from functions.common.payments import Decline

Action = Literal["retry", "wait"]
Shown = Literal["code", "generic_decline"]
_MAX_WAIT_HOURS = 24 * 30


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdviceRow(_Frozen):
    """One row of cells: the action under each advice column; every column must be stated."""

    none: Action
    do_not_try_again: Action
    try_again_later: Action
    confirm_card_data: Action

    def cell(self, advice_code: str | None) -> tuple[Action, str | None]:
        """The action under `advice_code`, and the column it was read from (None for `none`)."""
        columns: dict[str, Action] = {
            "do_not_try_again": self.do_not_try_again,
            "try_again_later": self.try_again_later,
            "confirm_card_data": self.confirm_card_data,
        }
        if advice_code in columns:
            return columns[advice_code], advice_code
        return self.none, None


class Row(_Frozen):
    """What a class of codes (or the unlisted codes) gets: shown code, least wait, and cells."""

    shown: Shown
    min_wait_hours: int = Field(default=0, ge=0, le=_MAX_WAIT_HOURS)
    advice: AdviceRow


class CodeClass(Row):
    """A named class of decline codes and its row."""

    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    codes: frozenset[str] = Field(min_length=1)


class DeclineMatrix(_Frozen):
    """A policy's whole decline table: its classes of codes, and the row for codes none lists."""

    classes: tuple[CodeClass, ...] = Field(min_length=1)
    unlisted: Row

    @model_validator(mode="after")
    def _check(self) -> DeclineMatrix:
        names = [group.name for group in self.classes]
        if len(set(names)) != len(names) or "unlisted" in names:
            raise ValueError(f"decline class names must be unique and not 'unlisted': {names}")
        seen: set[str] = set()
        clash: set[str] = set()
        for group in self.classes:
            clash |= seen & group.codes
            seen |= group.codes
        if clash:
            raise ValueError(f"decline codes listed in more than one class: {sorted(clash)}")
        return self

    def classify(self, decline: Decline) -> DeclineClass:
        """Read the cell of `decline`'s code (decline_code, else code) and its advice code."""
        reason = decline.decline_code or decline.code
        group = next((group for group in self.classes if reason in group.codes), None)
        row: Row = group or self.unlisted
        action, column = row.advice.cell(decline.advice_code)
        return DeclineClass(
            kind=group.name if group else "unlisted",
            retry=action == "retry",
            customer_code=reason if row.shown == "code" else GENERIC_DECLINE,
            reason_code=reason,
            known=group is not None,
            advice_code=column,
            retry_after=timedelta(hours=row.min_wait_hours) if action == "retry" else timedelta(0),
        )
