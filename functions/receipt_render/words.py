"""Words and money of a document: labels, Babel formats for one locale, and amounts in `Decimal`.

Shared by the document pipelines with `layout.py`: `Priced` computes a document's line amounts, tax and
total once (rounded half-up to the currency's minor unit) and formats its table rows and sums. Minor
units, rounding and money formats are `functions.common.money`'s (ISO 4217 exponents, never CLDR's digits).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from functions.common import money as amounts

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from functions.receipt_render.fields import Line


class Words:
    """A document's labels and number, money and date formats in one locale (English if unknown)."""

    def __init__(self, locale: str) -> None:
        self.locale = _babel(locale)
        catalogs = _catalogs()
        self._labels = {**catalogs["en"], **catalogs.get(self.locale.language, {})}

    def __getitem__(self, key: str) -> str:
        return self._labels[key]

    def line_headings(self) -> tuple[str, str, str, str]:
        """The lines table's headings, matching `Priced.rows`."""
        return (self["description"], self["quantity"], self["unit_price"], self["amount"])

    def all(self) -> Iterable[str]:
        """Every label, so a sheet can choose its fonts before drawing."""
        return self._labels.values()

    def money(self, amount: Decimal, currency: str, *, exact: bool = False) -> str:
        """`amount` of `currency` as the locale writes it; `exact` keeps digits beyond the minor unit."""
        return amounts.format_money(amount, currency, self.locale, exact=exact)

    def number(self, value: Decimal) -> str:
        """A quantity as the locale writes it."""
        return str(format_decimal(value, locale=self.locale))

    def percent(self, rate: Decimal) -> str:
        """A tax rate (0.19) as the locale writes it (19 %)."""
        return str(format_percent(rate, locale=self.locale, decimal_quantization=False))

    def date(self, when: datetime) -> str:
        """A date in the locale's medium format."""
        return str(format_date(when.date(), format="medium", locale=self.locale))


def rounded(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the currency's minor unit (0.005 EUR -> 0.01)."""
    return amounts.rounded(amount, currency)


@dataclass(frozen=True)
class Priced:
    """Document lines with their amounts and sums: the money half of a receipt or an invoice."""

    lines: Sequence[Line]
    currency: str
    tax_rate: Decimal

    def amount(self, line: Line) -> Decimal:
        """A line's amount, rounded to the currency's minor unit."""
        return rounded(line.quantity * line.unit_price, self.currency)

    @functools.cached_property
    def subtotal(self) -> Decimal:
        """The sum of the lines' amounts."""
        return sum((self.amount(line) for line in self.lines), Decimal(0))

    @functools.cached_property
    def tax(self) -> Decimal:
        """Tax on the subtotal, rounded to the minor unit."""
        return rounded(self.subtotal * self.tax_rate, self.currency)

    @functools.cached_property
    def total(self) -> Decimal:
        """Subtotal plus tax."""
        return self.subtotal + self.tax

    def rows(self, words: Words) -> list[tuple[str, str, str, str]]:
        """The lines table's rows: description, quantity, unit price (all its digits), amount."""
        return [
            (
                line.description,
                words.number(line.quantity),
                words.money(line.unit_price, self.currency, exact=True),
                words.money(self.amount(line), self.currency),
            )
            for line in self.lines
        ]

    def sums(self, words: Words, total_label: str) -> list[tuple[str, str]]:
        """Subtotal, tax when there is a rate, and the total under `total_label`."""
        rows = [(words["subtotal"], words.money(self.subtotal, self.currency))]
        if self.tax_rate:
            rows.append(
                (words["tax"].format(rate=words.percent(self.tax_rate)), words.money(self.tax, self.currency))
            )
        return [*rows, (total_label, words.money(self.total, self.currency))]


def check_limits(lines: Sequence[Line], currency: str, tax_rate: Decimal) -> None:
    """`ValueError` unless `currency` is payable and each unit price and the total are within the limits.

    The limits are `functions.common.money`'s, the same that dunning and receipt requests check.
    """
    for line in lines:
        amounts.check_amount(line.unit_price, currency, "a unit price")
    amounts.check_amount(Priced(lines, currency, tax_rate).total, currency, "the total")


def minor_units(amount: Decimal, currency: str) -> int:
    """A rounded amount in minor units (12.34 EUR -> 1234), as email requests carry it."""
    return amounts.to_minor(rounded(amount, currency), currency)


@functools.lru_cache(maxsize=64)
def _babel(locale: str) -> Locale:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


@functools.cache
def _catalogs() -> dict[str, dict[str, str]]:
    with (Path(__file__).parent / "labels.toml").open("rb") as handle:
        return tomllib.load(handle)
