"""Stripe's v1 wire format: form bodies with nested keys, and the requests the Stripe adapter sends.

Pure: no Dapr, no network. A builder returns a `StripeRequest` (method, path, form body, headers); the
adapter hands it to the `payment-gateway` `bindings.http` output binding as `binding_metadata()`.

- `create_payment_intent`: one PaymentIntent per attempt, created and confirmed off-session
  (`POST /v1/payment_intents`), with `metadata[case_id]` and `metadata[attempt]`;
- `pay_invoice`: pay the open invoice the failed payment names (`POST /v1/invoices/{id}/pay`);
- the two list reads, in `stripe_lists`: an invoice's payments (`GET /v1/invoice_payments`), a page
  of events (`GET /v1/events`).

Every POST carries the attempt's `Idempotency-Key` (`{case_id}:{attempt}`, the key the engine
records before it charges; at most 255 characters), the pinned `Stripe-Version`, and the form
`Content-Type` (the binding would send `application/json` otherwise). Bodies are the same bytes for
the same arguments, so a replay under the same key matches what Stripe stored. A GET has its
parameters in the path's query string, no body, no key and no `Content-Type`; the binding's operation
is the method, lower-cased (`get`, `post`).

The secret key is not here. The component sets it: `securityTokenHeader: Authorization` and
`securityToken` (`Bearer sk_…`) from a `secretKeyRef` of its secret store. The http binding sends that
header first, then every request-metadata key starting with a capital letter as a header, replacing
any of the same name; so a `StripeRequest` refuses an `Authorization` header (and a header whose name
would not be sent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote_plus

from bindings.errors import BinderyError
from functions.common import money

STRIPE_VERSION = "2026-08-26.dahlia"
"""The pinned API version (`Stripe-Version`): the one stripe-mock v0.203.0's bundled spec describes."""
FORM = "application/x-www-form-urlencoded"
MAX_IDEMPOTENCY_KEY = 255
_MAX_METADATA_VALUE = 500  # Stripe's limit on a metadata value
_HEADER_VALUE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: safe in any header
_METHODS = frozenset({"GET", "POST"})
_STRIPE_ID = re.compile(r"^[a-z]{2,8}_[A-Za-z0-9_]{1,240}$")  # cus_…, pm_…, in_…: also safe in a path

Scalar: TypeAlias = str | int | bool
Param: TypeAlias = Scalar | Mapping[str, "Param"] | Sequence["Param"] | None


class StripeWireError(BinderyError, ValueError):
    """A request that cannot be put on Stripe's wire as asked (a bug in the caller, never retried)."""


@dataclass(frozen=True, slots=True)
class StripeRequest:
    """One HTTP request to Stripe's v1 API, without the secret key (the component adds it)."""

    method: str
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise StripeWireError(f"method {self.method!r}: the sandbox and adapter send {sorted(_METHODS)}")
        if self.method == "GET" and (self.body or self.header("Idempotency-Key")):
            raise StripeWireError("a GET has no body and no idempotency key")
        for name, _value in self.headers:
            if name.lower() == "authorization":
                raise StripeWireError(
                    "the secret key comes from the component's secret store, never a request"
                )
            if not name[:1].isupper():
                raise StripeWireError(f"header {name!r}: the http binding sends only capitalised names")

    def header(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive), or None."""
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def binding_metadata(self) -> dict[str, str]:
        """The `bindings.http` request metadata: the path, the headers, and non-2xx answers as answers."""
        return {"path": self.path, "errorIfNot2XX": "false", **dict(self.headers)}


@dataclass(frozen=True, slots=True)
class StripeAnswer:
    """What Stripe answered a `StripeRequest`: its HTTP status and raw body (any status, 2xx to 5xx)."""

    status: int
    body: bytes


def form_encode(params: Mapping[str, Param]) -> bytes:
    """`params` as Stripe reads a form: `metadata[case_id]=…`, `expand[0]=…`, booleans `true`/`false`.

    Keys keep their order, so the same arguments give the same bytes. `None` and empty mappings or
    lists send nothing (to clear a field, pass `""`). Keys and values are escaped with `quote_plus`,
    except the brackets of nested keys, which Stripe's own libraries leave literal too.
    """
    return "&".join(
        f"{quote_plus(key, safe='[]')}={quote_plus(value)}" for key, value in _flatten(params, "")
    ).encode("ascii")


def _flatten(value: Param, prefix: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    if isinstance(value, int):
        return [(prefix, str(value))]
    if isinstance(value, str):
        return [(prefix, value)]
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            if not isinstance(key, str) or not key or "[" in key or "]" in key:
                raise StripeWireError(
                    f"parameter name {key!r} under {prefix or 'the body'} is not a plain name"
                )
            pairs += _flatten(item, f"{prefix}[{key}]" if prefix else key)
        return pairs
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray) and prefix:
        return [pair for index, item in enumerate(value) for pair in _flatten(item, f"{prefix}[{index}]")]
    raise StripeWireError(f"{prefix or 'the body'}: {type(value).__name__} has no form encoding")


def idempotency_key(case_id: str, attempt: int) -> str:
    """The attempt's key, `{case_id}:{attempt}`: the same on every replay of the attempt, by any replica."""
    if attempt < 1:
        raise StripeWireError(f"attempt {attempt}: attempts count from 1")
    key = f"{case_id}:{attempt}"
    if not case_id or not _HEADER_VALUE.match(key):
        raise StripeWireError(f"idempotency key {key[:60]!r}: only printable ASCII without spaces")
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise StripeWireError(f"idempotency key of {len(key)} characters: Stripe takes at most 255")
    return key


def create_payment_intent(
    *,
    case_id: str,
    attempt: int,
    amount: int,
    currency: str,
    customer: str,
    payment_method: str | None = None,
) -> StripeRequest:
    """Create and confirm a PaymentIntent for `attempt`, charged off-session to `customer`.

    `error_on_requires_action`: a card that asks for authentication fails the attempt at once instead
    of leaving an intent waiting for a customer who is not there. Redirect-based methods are excluded
    (`automatic_payment_methods[allow_redirects]=never`): off-session, nobody can follow a redirect,
    and Stripe would otherwise want a `return_url`. Without `payment_method`, Stripe falls back only
    to the customer's legacy `default_source`, not to `invoice_settings.default_payment_method`: the
    adapter should name the method whenever it can.
    """
    if not 1 <= amount <= money.MAX_MINOR:
        raise StripeWireError(f"amount {amount}: 1 to {money.MAX_MINOR} minor units")
    if currency.upper() not in money.currencies():
        raise StripeWireError(f"currency {currency!r} is not payable")
    if len(case_id) > _MAX_METADATA_VALUE:
        raise StripeWireError(f"case id of {len(case_id)} characters: metadata values are at most 500")
    params: dict[str, Param] = {
        "amount": amount,
        "currency": currency.lower(),
        "customer": checked_id("customer", customer),
        "payment_method": None if payment_method is None else checked_id("payment_method", payment_method),
        "confirm": True,
        "off_session": True,
        "error_on_requires_action": True,
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "metadata": {"case_id": case_id, "attempt": attempt},
    }
    return _post("/v1/payment_intents", params, idempotency_key(case_id, attempt))


def pay_invoice(
    *, invoice: str, case_id: str, attempt: int, payment_method: str | None = None
) -> StripeRequest:
    """Pay the open `invoice` off-session: its default payment method, or `payment_method` when known.

    `/pay` takes no metadata: the attempt is named by its idempotency key, and Stripe's invoice keeps
    its own payment history.
    """
    params: dict[str, Param] = {
        "off_session": True,
        "payment_method": None if payment_method is None else checked_id("payment_method", payment_method),
    }
    path = f"/v1/invoices/{checked_id('invoice', invoice)}/pay"
    return _post(path, params, idempotency_key(case_id, attempt))


def checked_id(what: str, value: str) -> str:
    """`value` when it is a Stripe id (`cus_…`, `in_…`: safe in a path too), else `StripeWireError`."""
    if not _STRIPE_ID.match(value):
        raise StripeWireError(f"{what} {value[:60]!r} is not a Stripe id (prefix_ then letters and digits)")
    return value


def _post(path: str, params: Mapping[str, Param], key: str) -> StripeRequest:
    headers = (("Idempotency-Key", key), ("Stripe-Version", STRIPE_VERSION), ("Content-Type", FORM))
    return StripeRequest(method="POST", path=path, body=form_encode(params), headers=headers)
