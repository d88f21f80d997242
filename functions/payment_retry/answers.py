"""The one translation from a processor's HTTP answer to what happened to a charge.

Money never moves on a guess, and a customer never hears of our own mistakes:

- `Paid`: a 2xx charge object with `status: succeeded` and an `id`;
- `Declined`: a 402 whose error has `type: card_error` and a `code`, and nothing else is a decline;
- `Later`: the processor is busy or failing (409 `idempotency_key_in_use` or `lock_timeout`, 429,
  5xx): ask again later with the same idempotency key; not a decline attempt;
- `Refused`: any other 4xx (400 `amount_too_small` or `parameter_invalid_integer`, 404
  `resource_missing`, 409 `idempotency_error`...): our request's fault, nothing was charged; the case
  waits for an operator and the customer is neither mailed nor cancelled;
- `InDoubt`: an answer we cannot read (an unparseable body, a 2xx of another shape, a 402 that is not
  a card error, a 1xx/3xx): the charge may have happened; the attempt keeps its key and the case
  waits for an operator.

A connection cut before any answer never gets here: the gateway raises `TransientError`, and the
attempt is asked again later with the same key, which replays whatever the processor did.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.payment_retry.declines import Decline

_DECLINED, _CONFLICT, _TOO_MANY, _SERVER = 402, 409, 429, 500
_BUSY = frozenset({"idempotency_key_in_use", "lock_timeout"})  # a concurrent request holds the key
_QUOTE = 200  # characters of an unreadable body kept in the reason


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Paid(_Frozen):
    """The charge succeeded."""

    charge_id: str = Field(min_length=1)


class Declined(_Frozen):
    """The card was declined: the decline table decides what follows."""

    decline: Decline


class Later(_Frozen):
    """The processor is busy or failing: retry the same attempt with the same key later."""

    reason: str


class Refused(_Frozen):
    """The processor refused our request (its fault is ours): nothing was charged."""

    reason: str


class InDoubt(_Frozen):
    """The answer does not say what happened: the charge may have gone through."""

    reason: str


Answer = Paid | Declined | Later | Refused | InDoubt


def read_answer(status: int, body: bytes) -> Answer:
    """What the processor's `status` and `body` mean for the attempt (the rules are in the docstring)."""
    if status == _TOO_MANY or status >= _SERVER:
        return Later(reason=f"processor answered {status}")
    parsed = _json(body)
    if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
        return _paid(status, parsed, body)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    described = f"processor answered {status} {error.get('type', '?')}/{code or '?'}"
    if status == _DECLINED:
        return _declined(error, described, body)
    if status == _CONFLICT and code in _BUSY:
        return Later(reason=described)
    if 400 <= status < 500:  # noqa: PLR2004 - the 4xx range
        return Refused(reason=f"{described}: {error.get('message', _quote(body))}")
    return InDoubt(reason=f"processor answered {status}: {_quote(body)}")


def _paid(status: int, parsed: object, body: bytes) -> Answer:
    if isinstance(parsed, dict) and parsed.get("status") == "succeeded":
        charge_id = parsed.get("id")
        if isinstance(charge_id, str) and charge_id:
            return Paid(charge_id=charge_id)
    return InDoubt(reason=f"processor answered {status} without a succeeded charge: {_quote(body)}")


def _declined(error: dict[str, Any], described: str, body: bytes) -> Answer:
    if error.get("type") == "card_error":
        try:
            return Declined(decline=Decline.model_validate(error))
        except ValidationError:
            pass
    return InDoubt(reason=f"{described}, not a card error we can read: {_quote(body)}")


def _json(body: bytes) -> object:
    try:
        parsed: object = json.loads(body)
    except ValueError:
        return None
    return parsed


def _quote(body: bytes) -> str:
    return repr(body[:_QUOTE])
