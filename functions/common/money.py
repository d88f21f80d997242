"""Money for the whole product: minor units <-> amounts, the amount limits, and how amounts are shown.

Amounts travel as integers in minor units *as the processor counts them* (payment events, receipt and
email requests); documents hold `Decimal` amounts in major units. `to_amount` and `to_minor` are the only
conversions between the two. Exponents come from ISO 4217 (`iso4217.toml`, shipped as package data) with
the processor's stated exceptions (ISK, MGA); never from CLDR's display digits, which are not minor units
(HUF, IDR, COP... would be off by a factor of 100).

Limits: one payment, one document total and one unit price are each at most `MAX_MINOR` minor units of
their currency, checked where amounts enter (payment.failed, receipt requests, order documents), so a
payment dunning accepts always makes a valid receipt.

Amounts are shown with Babel in the locale's currency pattern, with ISO 4217's digits.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from babel import Locale
from babel.numbers import NumberPattern, format_currency

from bindings.errors import BinderyError

MAX_MINOR = 10**12 - 1
"""The largest amount, in minor units: a payment, a document's total, a unit price."""


class UnknownCurrencyError(BinderyError, ValueError):
    """A code that is not a payable ISO 4217 currency (unknown, withdrawn, or without a minor unit)."""


def currencies() -> frozenset[str]:
    """Every payable currency code."""
    return frozenset(_table()[0])


def iso_exponent(currency: str) -> int:
    """ISO 4217's minor unit of `currency`: the digits an amount is shown with."""
    return _table()[0][_code(currency)]


def exponent(currency: str) -> int:
    """The minor unit the processor counts `currency` in: ISO 4217's, unless the processor says otherwise."""
    code = _code(currency)
    return _table()[1].get(code, _table()[0][code])


def precision(currency: str) -> int:
    """Decimal places an amount can have to be both charged and shown exactly (the smaller exponent)."""
    return min(exponent(currency), iso_exponent(currency))


def to_amount(minor: int, currency: str) -> Decimal:
    """`minor` units of `currency` as an amount in major units (500000 HUF -> 5000.00)."""
    return Decimal(minor).scaleb(-exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the processor's minor units (5000.00 HUF -> 500000); `ValueError` below the minor unit."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(scaled)


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to what can be charged and shown (0.005 EUR -> 0.01, 4.5 ISK -> 5)."""
    return amount.quantize(Decimal(1).scaleb(-precision(currency)), rounding=ROUND_HALF_UP)


def check_minor(minor: int, currency: str) -> int:
    """`minor` if it is a payable amount of `currency`, else `ValueError` saying which limit it broke."""
    if not 0 < minor <= MAX_MINOR:
        raise ValueError(f"an amount is 1 to {MAX_MINOR} minor units of its currency, not {minor}")
    step = 10 ** (exponent(currency) - precision(currency))
    if minor % step:
        raise ValueError(
            f"{minor} minor units of {_code(currency)}: the processor takes only a multiple of {step}"
        )
    return minor


def check_amount(amount: Decimal, currency: str, what: str) -> Decimal:
    """`amount` (major units) if `what` (a unit price, a total) is within the limit, else `ValueError`."""
    if amount.scaleb(exponent(currency)) > MAX_MINOR:
        top = to_amount(MAX_MINOR, currency)
        raise ValueError(f"{what} is at most {top} {_code(currency)} ({MAX_MINOR} minor units), not {amount}")
    return amount


def format_money(amount: Decimal, currency: str, locale: Locale | str, *, exact: bool = False) -> str:
    """`amount` as `locale` writes `currency`, with ISO 4217's digits; `exact` keeps any further digits."""
    where = locale if isinstance(locale, Locale) else Locale.parse(locale.replace("-", "_"))
    return str(
        format_currency(
            amount,
            _code(currency),
            format=_pattern(where, iso_exponent(currency)),
            locale=where,
            currency_digits=False,
            decimal_quantization=not exact,
        )
    )


@functools.lru_cache(maxsize=256)
def _pattern(locale: Locale, digits: int) -> NumberPattern:
    pattern: NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


def _code(currency: str) -> str:
    code = currency.upper()
    if code not in _table()[0]:
        raise UnknownCurrencyError(f"{currency!r} is not a payable currency (ISO 4217 with a minor unit)")
    return code


@functools.cache
def _table() -> tuple[dict[str, int], dict[str, int]]:
    with (Path(__file__).parent / "iso4217.toml").open("rb") as handle:
        data = tomllib.load(handle)
    iso = {code: int(digits) for digits, codes in data["minor_units"].items() for code in codes}
    return iso, dict(data["processor"]["minor_units"])
