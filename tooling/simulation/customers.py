"""A simulated customer base for `bindery simulate`: who fails when, and how each card then behaves.

Each customer follows one seeded profile. The processor sandbox is scripted with the outcome of
every charge the customer's card will see, and the customer's own actions (a new card, paying
another way) become payment events at set moments. Nothing here knows about Dapr or the engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# (profile, weight): the mix of a typical subscription business's failed payments.
PROFILES: tuple[tuple[str, int], ...] = (
    ("recovers", 45),  # soft declines, then a retry succeeds
    ("stays_soft", 15),  # soft declines until the deadline
    ("expired_updates", 10),  # an expired card, replaced some days later
    ("expired_silent", 8),  # an expired card, never replaced
    ("fraud", 4),  # a stolen card
    ("pays_elsewhere", 10),  # declines, then pays by another route
    ("flaky", 8),  # the processor errors once (5xx), then the retry succeeds
)
_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo")
_CURRENCIES = (("EUR", 1999), ("USD", 2900), ("JPY", 3200), ("GBP", 1500))
_SOFT = {"code": "card_declined", "decline_code": "insufficient_funds"}
_EXPIRED = {"code": "expired_card"}
_STOLEN = {"code": "card_declined", "decline_code": "stolen_card"}
_ENOUGH = 12  # more outcomes than any case makes charges


@dataclass(frozen=True)
class Customer:
    """One simulated customer: the failure, the card's scripted answers, and later actions."""

    customer_id: str
    profile: str
    failed_at: datetime
    failure: dict[str, Any]
    script: tuple[str, ...]
    updates_card_at: datetime | None = None
    pays_elsewhere_at: datetime | None = None

    def failed_event(self) -> dict[str, Any]:
        """The payment.failed event that opens this customer's case."""
        rng = random.Random(self.customer_id)  # noqa: S311 - simulation data, not security
        currency, amount = rng.choice(_CURRENCIES)
        return {
            "type": "payment.failed",
            "event_id": f"evt_{self.customer_id}",
            "payment_id": self.payment_id,
            "customer_id": self.customer_id,
            "subscription_id": f"sub_{self.customer_id}",
            "email": f"{self.customer_id}@example.com",
            "amount": amount,
            "currency": currency,
            "timezone": rng.choice(_ZONES),
            "failed_at": self.failed_at.isoformat(),
            "decline": self.failure,
        }

    def events(self) -> list[tuple[datetime, dict[str, Any]]]:
        """Every payment event this customer causes, with its moment: the failure, then their actions."""
        who = self.customer_id
        events = [(self.failed_at, self.failed_event())]
        if self.updates_card_at is not None:
            events.append((self.updates_card_at, {
                "type": "payment_method.updated", "event_id": f"evt_pm_{who}", "customer_id": who,
                "updated_at": self.updates_card_at.isoformat(),
            }))  # fmt: skip
        if self.pays_elsewhere_at is not None:
            events.append((self.pays_elsewhere_at, {
                "type": "payment.succeeded", "event_id": f"evt_paid_{who}", "payment_id": self.payment_id,
                "succeeded_at": self.pays_elsewhere_at.isoformat(),
            }))  # fmt: skip
        return events

    @property
    def payment_id(self) -> str:
        """The failed payment, which is the case id."""
        return f"pay_{self.customer_id}"


def customers(count: int, *, seed: int, start: datetime, arrivals: timedelta) -> list[Customer]:
    """`count` customers whose payments fail at seeded moments within `arrivals` after `start`."""
    rng = random.Random(seed)  # noqa: S311 - simulation data, not security
    names = [name for name, _ in PROFILES]
    weights = [weight for _, weight in PROFILES]
    made = []
    for index in range(count):
        profile = rng.choices(names, weights)[0]
        failed_at = start + timedelta(seconds=rng.uniform(0, arrivals.total_seconds()))
        made.append(_customer(f"cus_sim{seed}x{index:06d}", profile, failed_at, rng))
    return made


def _customer(customer_id: str, profile: str, failed_at: datetime, rng: random.Random) -> Customer:
    later = failed_at + timedelta(hours=rng.uniform(6, 24 * 9))
    recovers = ("soft",) * rng.randint(0, 3) + ("ok",)
    plans: dict[str, tuple[dict[str, Any], tuple[str, ...], dict[str, datetime]]] = {
        "recovers": (_SOFT, recovers, {}),
        "stays_soft": (_SOFT, ("soft",) * _ENOUGH, {}),
        "expired_updates": (_EXPIRED, ("ok",), {"updates_card_at": later}),
        "expired_silent": (_EXPIRED, ("hard",) * _ENOUGH, {}),
        "fraud": (_STOLEN, ("fraud",) * _ENOUGH, {}),
        "pays_elsewhere": (_SOFT, ("soft",) * _ENOUGH, {"pays_elsewhere_at": later}),
        "flaky": (_SOFT, ("5xx", "ok"), {}),
    }
    if profile not in plans:
        raise ValueError(f"unknown profile {profile!r}")
    failure, script, actions = plans[profile]
    return Customer(customer_id, profile, failed_at, failure, script, **actions)
