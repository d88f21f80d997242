"""Hand-built counters for the tile builder's tests, and the figures' expected text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from functions.common import money
from functions.common.aggregates import Tally

NOW = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)
TODAY = NOW.date()


def ago(days: int) -> date:
    """The UTC day `days` before today."""
    return TODAY - timedelta(days=days)


def tally(count: int, amount: int = 0) -> Tally:
    """A tally of `count` events summing `amount` minor units."""
    return Tally(count=count, amount=amount)


def shown(minor: int, currency: str) -> str:
    """`minor` units of `currency` as the tiles write them: money's own formatter, in English."""
    return money.format_money(money.to_amount(minor, currency), currency, "en")
