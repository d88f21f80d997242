"""The one translation from Stripe's HTTP answers to the processor-neutral outcomes of `payments`.

- 2xx: a PaymentIntent (`payment_intent` mode) or an Invoice (`invoice` mode) whose status says the
  money moved (`succeeded`, `paid`) is `Paid`, by its id; any other 2xx is `InDoubt` (`processing` may
  still succeed; a shape we do not know may have charged);
- 402 `card_error`: `authentication_required` (code or decline code) is `NeedsCustomer`; any other
  card error with a `code` is `Declined`. A 402 of another type is `InDoubt`: only a card error is a
  decline;
- 429, 5xx, and a 409 whose code says a concurrent request holds the key: `Later`, same key;
- 400 `idempotency_error`: the key was sent before with other parameters, which is our bug: `Refused`,
  saying so;
- any other 4xx (401 bad key, 400 bad parameter, 404 no such invoice): `Refused`;
- 1xx / 3xx: `InDoubt`.

Every reason is safe to keep: API keys (`sk_…`, `rk_…`; stripe-mock echoes the Authorization header in
its 401) are masked to their last four characters, and bodies are quoted short.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from functions.common.payments import Answer, Decline, Declined, InDoubt, Later, NeedsCustomer, Paid, Refused

if TYPE_CHECKING:
    from functions.common.stripe import StripeAnswer

Mode = Literal["payment_intent", "invoice"]
_DECLINED, _CONFLICT, _TOO_MANY, _SERVER = 402, 409, 429, 500
_BUSY = frozenset({"idempotency_key_in_use", "lock_timeout"})  # a concurrent request holds the key
_SETTLED = {"payment_intent": "succeeded", "invoice": "paid"}
_QUOTE = 200  # characters of an unreadable body kept in a reason
_KEY = re.compile(r"\b((?:sk|rk|pk)_(?:test|live)_)([A-Za-z0-9]+)")
_SHOWN = 4  # a key's last characters left readable, as Stripe's dashboard shows them


def mask_keys(text: str) -> str:
    """`text` with every Stripe API key shown as `sk_test_…1234` (a short one as `sk_test_…`)."""

    def mask(match: re.Match[str]) -> str:
        secret = match[2]
        return match[1] + "…" + (secret[-_SHOWN:] if len(secret) > 2 * _SHOWN else "")

    return _KEY.sub(mask, text)


def read_answer(answer: StripeAnswer, mode: Mode) -> Answer:
    """What Stripe's answer to a charge in `mode` means (the rules are in the module docstring)."""
    status = answer.status
    if status == _TOO_MANY or status >= _SERVER:
        return Later(reason=f"Stripe answered {status}")
    parsed = parse_body(answer.body)
    if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
        return _settled(status, parsed, answer.body, mode)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    error = error if isinstance(error, dict) else {}
    kind, code = error.get("type"), error.get("code")
    described = f"Stripe answered {status} {kind or '?'}/{code or '?'}"
    if status == _DECLINED:
        return _declined(error, described, answer.body)
    if status == _CONFLICT and code in _BUSY:
        return Later(reason=described)
    if 400 <= status < 500:  # noqa: PLR2004 - the 4xx range
        if kind == "idempotency_error":
            described += " (an idempotency key reused with other parameters: a bug in Bindery)"
        return Refused(reason=mask_keys(f"{described}: {error.get('message') or quote_body(answer.body)}"))
    return InDoubt(reason=f"Stripe answered {status}: {quote_body(answer.body)}")


def _settled(status: int, parsed: object, body: bytes, mode: Mode) -> Answer:
    if isinstance(parsed, dict) and parsed.get("object") == mode:
        what, paid_id = parsed.get("status"), parsed.get("id")
        if what == _SETTLED[mode] and isinstance(paid_id, str) and paid_id:
            return Paid(charge_id=paid_id)
        return InDoubt(reason=f"Stripe answered {status}: {mode} {paid_id} is {what}, not {_SETTLED[mode]}")
    return InDoubt(reason=f"Stripe answered {status} without a {mode}: {quote_body(body)}")


def _declined(error: dict[str, Any], described: str, body: bytes) -> Answer:
    if error.get("type") == "card_error":
        try:
            decline = Decline.model_validate(error)
        except ValidationError:
            pass
        else:
            if decline.wants_cardholder:
                return NeedsCustomer(
                    decline=decline, reason=f"{described}: the issuer asks for the cardholder"
                )
            return Declined(decline=decline)
    return InDoubt(reason=f"{described}, not a card error we can read: {quote_body(body)}")


def parse_body(body: bytes) -> object:
    """A Stripe answer's JSON body, or None when it is not JSON."""
    try:
        parsed: object = json.loads(body)
    except ValueError:
        return None
    return parsed


def quote_body(body: bytes) -> str:
    """The start of an answer's body for a reason: keys masked, at most 200 characters, quoted."""
    return repr(mask_keys(body.decode("utf-8", "replace"))[:_QUOTE])
