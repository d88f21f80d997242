"""The shared money module: ISO 4217 exponents as data, the processor's exceptions, conversions, formats."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision

from functions.common import money

ROOT = Path(__file__).resolve().parents[2]
# Written from ISO 4217 list one, independently of the shipped table: the codes this issue is about.
ISO_SPOT = {
    "HUF": 2, "IDR": 2, "COP": 2, "AFN": 2, "ALL": 2, "IRR": 2, "KPW": 2, "LAK": 2, "LBP": 2, "MMK": 2,
    "SOS": 2, "SYP": 2, "YER": 2, "IQD": 3, "BHD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "EUR": 2, "USD": 2, "GBP": 2, "MGA": 2, "TWD": 2,
}  # fmt: skip
NO_MINOR_UNIT = ("XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA", "XTS", "XXX")
EVERY = sorted(money.currencies())


def en_format(digits: int) -> str:
    """English's currency pattern (¤#,##0.00) with `digits` fraction digits."""
    return "¤#,##0" + ("." + "0" * digits if digits else "")


@pytest.mark.parametrize(("code", "exponent"), sorted(ISO_SPOT.items()))
def test_the_table_holds_iso_4217_minor_units(code: str, exponent: int) -> None:
    """Each code's display exponent is ISO 4217's, not CLDR's display digits."""
    assert money.iso_exponent(code) == exponent


def test_cldr_disagrees_with_iso_for_the_currencies_of_the_issue() -> None:
    """The installed Babel's CLDR digits differ from ISO for HUF, IDR and COP: why Babel's are not used."""
    assert {code: get_currency_precision(code) for code in ("HUF", "IDR", "COP")} == dict.fromkeys(
        ("HUF", "IDR", "COP"), 0
    )


def test_every_currency_dunning_accepts_is_in_the_table() -> None:
    """Babel's current tender currencies (what payment.failed accepts) all have an exponent."""
    table = get_global("territory_currencies")
    tender = {code for rows in table.values() for code, _s, end, ok in rows if end is None and ok}
    assert tender <= money.currencies()


@pytest.mark.parametrize("code", NO_MINOR_UNIT)
def test_codes_without_a_minor_unit_are_refused(code: str) -> None:
    """Gold, SDRs and test codes are not payable currencies: every conversion refuses them."""
    assert code not in money.currencies()
    with pytest.raises(money.UnknownCurrencyError, match="not a payable currency"):
        money.to_amount(100, code)
    with pytest.raises(money.UnknownCurrencyError):
        money.check_minor(100, code)


def test_unknown_codes_are_refused_and_lower_case_is_read() -> None:
    """An unlisted code is an error, never a guessed exponent; codes are case-insensitive."""
    with pytest.raises(money.UnknownCurrencyError, match="ABC"):
        money.exponent("ABC")
    assert money.to_amount(1999, "eur") == Decimal("19.99")


def test_the_processor_s_exceptions_change_the_exponent_of_isk_and_mga_only() -> None:
    """Stripe counts ISK in hundredths and MGA in whole ariary; every other code as ISO 4217 does."""
    differs = {code for code in EVERY if money.exponent(code) != money.iso_exponent(code)}
    assert differs == {"ISK", "MGA"}
    assert money.to_amount(500, "ISK") == Decimal(5)
    assert money.to_amount(5000, "MGA") == Decimal(5000)


@pytest.mark.parametrize("code", EVERY)
def test_minor_units_round_trip_through_amounts(code: str) -> None:
    """Minor units -> amount -> minor units is the identity, at the limits and between, in every currency."""
    step = 10 ** (money.exponent(code) - money.precision(code))
    for minor in (step, 7 * step, 123456 * step, money.MAX_MINOR - money.MAX_MINOR % step):
        amount = money.to_amount(minor, code)
        assert amount == Decimal(minor) / 10 ** money.exponent(code)
        assert money.to_minor(amount, code) == minor


@pytest.mark.parametrize("code", EVERY)
def test_amounts_are_shown_with_the_iso_digits(code: str) -> None:
    """The text is Babel's formatting of the exact amount with ISO's digits: shown equals charged."""
    exponent, digits = money.exponent(code), money.iso_exponent(code)
    minor = 123456789 * 10 ** (exponent - money.precision(code))
    expected = Decimal(minor).scaleb(-exponent)
    shown = money.format_money(money.to_amount(minor, code), code, "en")
    assert shown == format_currency(
        expected, code, format=en_format(digits), locale="en", currency_digits=False
    )
    if exponent == digits:
        assert re.sub(r"\D", "", shown) == str(minor)


def test_exact_shows_digits_beyond_the_minor_unit_and_rounding_is_half_up() -> None:
    """Unit prices keep their digits; amounts round half-up to what can be charged and shown."""
    assert money.format_money(Decimal("0.125"), "EUR", "en", exact=True) == "€0.125"
    assert money.rounded(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert money.rounded(Decimal("4.5"), "ISK") == Decimal(5)
    assert money.rounded(Decimal("1.0005"), "KWD") == Decimal("1.001")
    with pytest.raises(ValueError, match="minor unit"):
        money.to_minor(Decimal("0.125"), "EUR")


@pytest.mark.parametrize(("code", "exponent"), [("JPY", 0), ("EUR", 2), ("KWD", 3)])
def test_the_payment_limit_in_minor_units(code: str, exponent: int) -> None:
    """1 and MAX_MINOR minor units pass; 0, negatives and MAX_MINOR + 1 are refused with the limit."""
    assert money.MAX_MINOR == 10**12 - 1
    assert money.exponent(code) == exponent
    assert money.check_minor(1, code) == 1
    assert money.check_minor(money.MAX_MINOR, code) == money.MAX_MINOR
    for bad in (0, -1, money.MAX_MINOR + 1):
        with pytest.raises(ValueError, match="minor units"):
            money.check_minor(bad, code)
    top = money.to_amount(money.MAX_MINOR, code)
    assert money.check_amount(top, code, "a unit price") == top
    with pytest.raises(ValueError, match="a unit price"):
        money.check_amount(top + Decimal(1).scaleb(-exponent), code, "a unit price")


def test_an_isk_payment_must_be_whole_kronur() -> None:
    """Stripe refuses ISK amounts that are not multiples of 100, so they are refused at the edge."""
    assert money.check_minor(500, "ISK") == 500
    with pytest.raises(ValueError, match="multiple of 100"):
        money.check_minor(550, "ISK")


def test_the_table_is_package_data() -> None:
    """The TOML sits in the bindings package and pyproject's package-data patterns ship it."""
    data = Path(money.__file__).with_name("iso4217.toml")
    assert tomllib.loads(data.read_text(encoding="utf-8"))
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch.fnmatch(data.name, pattern) for pattern in patterns["*"])
