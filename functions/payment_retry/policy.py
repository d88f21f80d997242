"""Dunning policies as versioned data: `policies/<name>/v<N>.toml`, loaded, validated and cached.

A shipped version never changes, so a case started under one keeps its schedule (and its decline
table) when the policy moves on. v1's decline table is code lists with advice overrides
(`declines.DeclineTable`); from v2 it states every cell (`decline_matrix.DeclineMatrix`).
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
from datetime import time, timedelta
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from bindings.errors import BinderyError
from functions.payment_retry.decline_matrix import DeclineMatrix
from functions.payment_retry.declines import DeclineTable
from functions.payment_retry.durations import Duration

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

MAX_RETRIES = 8  # card networks forbid retrying one charge more than 8 times
# A DST change moves a calendar day by up to an hour (two in a few zones), so a day offset must stay
# this far from a neighbouring elapsed offset for the retry times to stay in order.
_DST_MARGIN = timedelta(hours=3)
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FILE = re.compile(r"v([1-9][0-9]*)\.toml")

FinalAction = Literal["cancel", "mark_unpaid", "leave_past_due"]
Template = Literal["payment_failed", "reminder", "update_card", "final_notice", "recovered", "canceled"]


class UnknownPolicyError(BinderyError, ValueError):
    """No shipped policy has that name or version."""


def _table_shape(value: object) -> str:
    """Which decline table a policy's `[declines]` is: v2's has `classes`, v1's has code lists."""
    matrix = isinstance(value, DeclineMatrix) or (isinstance(value, dict) and "classes" in value)
    return "matrix" if matrix else "lists"


Declines = Annotated[
    Annotated[DeclineTable, Tag("lists")] | Annotated[DeclineMatrix, Tag("matrix")],
    Discriminator(_table_shape),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class QuietHours(_Frozen):
    """Local hours in which no email goes out; `start` after `end` wraps midnight ("21:00" to "08:00")."""

    start: time
    end: time

    @model_validator(mode="after")
    def _check(self) -> QuietHours:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are local wall-clock times: drop the UTC offset")
        if self.start == self.end:
            raise ValueError("quiet_hours start and end are equal: the window would be empty")
        return self


class EmailLadder(_Frozen):
    """The email template requested at each step of a case."""

    on_failure: Template
    attempts: tuple[Template, ...]  # one per retry attempt, in order
    on_recovery: Template
    on_give_up: Template


class Spacing(_Frozen):
    """The least time between two charge attempts, and between two dunning emails, of one case.

    Overdue steps (a failure reported days late, an outage) are caught up one at a time: the first
    overdue attempt is made at once, each later one no sooner than `retries` after the previous
    attempt (or the failure); a reminder due sooner than `emails` after the previous email is skipped.
    """

    retries: Duration
    emails: Duration


class Policy(_Frozen):
    """One version of a dunning policy."""

    name: str = Field(pattern=_NAME.pattern)
    version: int = Field(ge=1)
    retry_offsets: tuple[Duration, ...] = Field(min_length=1)
    deadline: Duration
    final_action: FinalAction
    quiet_hours: QuietHours
    emails: EmailLadder
    declines: Declines
    spacing: Spacing | None = None  # from default v3; before it, overdue steps are due at once

    @model_validator(mode="after")
    def _check(self) -> Policy:
        offsets = self.retry_offsets
        if len(offsets) > MAX_RETRIES:
            raise ValueError(f"{len(offsets)} retry_offsets: card networks allow at most {MAX_RETRIES}")
        for before, after in itertools.pairwise(offsets):
            if after.nominal <= before.nominal:
                raise ValueError(f"retry_offsets must be strictly increasing: {before} then {after}")
            if before.calendar != after.calendar and after.nominal - before.nominal < _DST_MARGIN:
                raise ValueError(f"retry_offsets {before} and {after} are too close: DST can swap them")
        if self.deadline.nominal < offsets[-1].nominal:
            raise ValueError(f"deadline {self.deadline} comes before the last retry at {offsets[-1]}")
        if len(self.emails.attempts) != len(offsets):
            raise ValueError(
                f"emails.attempts names {len(self.emails.attempts)} templates for {len(offsets)} retries"
            )
        return self


def _folder(name: str) -> Traversable:
    return files("functions.payment_retry") / "policies" / name


def _names() -> tuple[str, ...]:
    return tuple(sorted(entry.name for entry in _folder("").iterdir() if entry.is_dir()))


def available_versions(name: str) -> tuple[int, ...]:
    """Return the shipped versions of policy `name`, oldest first; raise `UnknownPolicyError` if none."""
    if not _NAME.fullmatch(name) or not _folder(name).is_dir():
        raise UnknownPolicyError(f"no dunning policy named {name!r} (available: {', '.join(_names())})")
    found = (_FILE.fullmatch(entry.name) for entry in _folder(name).iterdir())
    return tuple(sorted(int(match.group(1)) for match in found if match))


def parse_policy(text: str, *, name: str, version: int) -> Policy:
    """Validate the TOML `text` of file `<name>/v<version>.toml`; raise ValueError naming the problem."""
    policy = Policy.model_validate(tomllib.loads(text))
    if (policy.name, policy.version) != (name, version):
        raise ValueError(
            f"{name}/v{version}.toml declares name={policy.name!r} version={policy.version}: they must match"
        )
    return policy


@functools.cache
def load_policy(name: str, version: int) -> Policy:
    """Load (once) shipped policy `name` at `version`; raise `UnknownPolicyError` naming what exists."""
    versions = available_versions(name)
    if version not in versions:
        shipped = ", ".join(str(known) for known in versions)
        raise UnknownPolicyError(f"dunning policy {name!r} has no version {version!r} (shipped: {shipped})")
    text = (_folder(name) / f"v{version}.toml").read_text(encoding="utf-8")
    return parse_policy(text, name=name, version=version)


def latest(name: str) -> Policy:
    """Load the newest shipped version of policy `name`."""
    return load_policy(name, max(available_versions(name)))
