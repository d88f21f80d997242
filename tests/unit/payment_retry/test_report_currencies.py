"""Case reports show amounts in ISO 4217 minor units, the unit the processor charged in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.common import money
from functions.payment_retry.report import money as shown


@pytest.mark.parametrize(
    ("minor", "currency", "value"),
    [(500000, "HUF", "5000.00"), (15000000, "IDR", "150000.00"), (4990000, "COP", "49900.00"),
     (12345, "IQD", "12.345"), (123456, "CLF", "12.3456"), (500, "ISK", "5")],
)  # fmt: skip
def test_the_report_shows_major_units_with_iso_digits(minor: int, currency: str, value: str) -> None:
    """500000 HUF minor units read 5,000.00 HUF, not 500,000 HUF."""
    digits = len(value.partition(".")[2])
    assert shown(minor, currency) == f"{Decimal(value):,.{digits}f} {currency}"


@pytest.mark.parametrize("currency", sorted(money.currencies()))
def test_every_currency_reads_back_to_the_charged_minor_units(currency: str) -> None:
    """The number in the report, times 10**exponent, is the amount in minor units for every currency."""
    minor = 24681357 * 10 ** (money.exponent(currency) - money.precision(currency))
    number, code = shown(minor, currency).split(" ")
    assert code == currency
    assert Decimal(number.replace(",", "")).scaleb(money.exponent(currency)) == minor
    assert len(number.partition(".")[2]) == money.iso_exponent(currency)


def test_a_case_in_a_withdrawn_currency_still_reports() -> None:
    """A code no longer in the table (BGN since the euro) is shown as plain minor units, not a crash."""
    assert shown(123456, "BGN") == "123,456 minor units BGN"
