"""The processor sandbox's form validation: the parameters of the two Stripe requests it executes.

Parameters are the pairs `parse_qsl` gives, nested keys kept flat (`metadata[case_id]`); a repeated
parameter takes its last value. A parameter outside the accepted set is refused as Stripe refuses
one (`parameter_unknown`), so the sandbox catches an adapter that sends what Stripe would not take.
"""

from __future__ import annotations

import re

from tooling.sandboxes.processor_stripe import Intent, Refusal

_MAX_AMOUNT = 99_999_999  # Stripe's limit on `amount` for most currencies
_MAX_METADATA_VALUE = 500
_CUSTOMER = re.compile(r"^cus_[A-Za-z0-9_]{1,240}$")
_PAYMENT_METHOD = re.compile(r"^pm_[A-Za-z0-9_]{1,240}$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_REDIRECTS = "automatic_payment_methods[allow_redirects]"
_REQUIRED = (
    "amount",
    "currency",
    "customer",
    "confirm",
    "off_session",
    "metadata[case_id]",
    "metadata[attempt]",
)
INTENT_PARAMS = frozenset(
    {
        *_REQUIRED,
        "payment_method",
        "error_on_requires_action",
        "automatic_payment_methods[enabled]",
        _REDIRECTS,
    }
)
PAY_PARAMS = frozenset({"off_session", "payment_method"})


def intent_params(pairs: list[tuple[str, str]]) -> Intent:
    """Validate a create-and-confirm PaymentIntent form as Stripe would, or raise `Refusal` (400)."""
    params = dict(pairs)
    if not params.keys() & INTENT_PARAMS:  # a JSON body, or no form at all: Stripe sees no parameters
        params = {}
    _check(params, INTENT_PARAMS)
    for name in _REQUIRED:
        _require(params, name)
    amount = _integer(params, "amount")
    if amount < 1:
        raise Refusal(400, "This value must be greater than or equal to 1.", param="amount")
    if amount > _MAX_AMOUNT:
        raise Refusal(400, "Amount must be no more than 999,999.99.", code="amount_too_large", param="amount")
    if not re.fullmatch(r"[a-z]{3}", params["currency"]):
        raise Refusal(400, f"Invalid currency: {params['currency']}.", param="currency")
    _check_flags(params)
    attempt = _integer(params, "metadata[attempt]")
    if attempt < 1:
        raise Refusal(400, "The sandbox counts metadata[attempt] from 1.", param="metadata[attempt]")
    case_id = params["metadata[case_id]"]
    if len(case_id) > _MAX_METADATA_VALUE:
        raise Refusal(400, "Metadata values can have up to 500 characters.", param="metadata[case_id]")
    customer = params["customer"]
    if not _CUSTOMER.match(customer):
        raise Refusal(400, f"No such customer: '{customer}'", code="resource_missing", param="customer")
    return Intent(amount, params["currency"], customer, _payment_method(params), case_id, attempt)


def pay_params(pairs: list[tuple[str, str]]) -> str | None:
    """Validate an invoice `/pay` form; return its `payment_method`, if any, or raise `Refusal` (400)."""
    params = dict(pairs)
    _check(params, PAY_PARAMS)
    _boolean(params, "off_session")
    return _payment_method(params)


def _check_flags(params: dict[str, str]) -> None:
    for name in ("confirm", "off_session"):
        if not _boolean(params, name):
            message = f"The sandbox only creates PaymentIntents confirmed off-session: {name} must be true."
            raise Refusal(400, message, param=name)
    for name in ("error_on_requires_action", "automatic_payment_methods[enabled]"):
        _boolean(params, name)
    if _REDIRECTS in params:
        _require(params, "automatic_payment_methods[enabled]")
        if params[_REDIRECTS] not in {"always", "never"}:
            raise Refusal(400, f"Invalid {_REDIRECTS}: must be one of always or never", param=_REDIRECTS)


def _check(params: dict[str, str], known: frozenset[str]) -> None:
    for name, value in params.items():
        if name not in known:
            raise Refusal(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
        if value == "":
            message = (
                f"You passed an empty string for '{name}'. We assume empty values are an attempt to unset a "
                f"parameter; however '{name}' cannot be unset. You should remove '{name}' from your request "
                "or supply a non-empty value."
            )
            raise Refusal(400, message, code="parameter_invalid_empty", param=name)


def _require(params: dict[str, str], name: str) -> None:
    if name not in params:
        raise Refusal(400, f"Missing required param: {name}.", code="parameter_missing", param=name)


def _integer(params: dict[str, str], name: str) -> int:
    if not _INTEGER.match(params[name]):
        raise Refusal(400, f"Invalid integer: {params[name]}", code="parameter_invalid_integer", param=name)
    return int(params[name])


def _boolean(params: dict[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is not None and value not in {"true", "false"}:
        raise Refusal(400, f"Invalid boolean: {value}", param=name)
    return None if value is None else value == "true"


def _payment_method(params: dict[str, str]) -> str | None:
    value = params.get("payment_method")
    if value is not None and not _PAYMENT_METHOD.match(value):
        raise Refusal(
            400, f"No such PaymentMethod: '{value}'", code="resource_missing", param="payment_method"
        )
    return value


LIST_PARAMS = frozenset({"invoice", "limit", "expand[]", "expand[0]"})
_EXPANDED = "data.payment.payment_intent"


def list_params(pairs: list[tuple[str, str]]) -> tuple[str, int, bool]:
    """Validate a `GET /v1/invoice_payments` query: the invoice, the page size, whether intents expand."""
    params = dict(pairs)
    _check(params, LIST_PARAMS)
    _require(params, "invoice")  # optional at Stripe, which then lists every invoice's payments
    limit = _integer(params, "limit") if "limit" in params else 10
    if not 1 <= limit <= 100:  # noqa: PLR2004 - Stripe's page sizes
        raise Refusal(400, "This value must be between 1 and 100.", param="limit")
    expand = [value for name, value in pairs if name.startswith("expand[")]
    if any(value != _EXPANDED for value in expand):
        raise Refusal(400, f"The sandbox expands only {_EXPANDED}.", param="expand")
    return params["invoice"], limit, bool(expand)
