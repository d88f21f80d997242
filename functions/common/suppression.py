"""The suppression list: addresses no function may mail again, shared through the `email-state` store.

email_events adds an address after a hard bounce, a spam report or an unsubscribe; email_send and
the dunning read it before sending. Keys are `suppressed:{address, lower-cased}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bindings.ports import StateStore


def key(address: str) -> str:
    """The state key of `address` on the list."""
    return f"suppressed:{address.strip().lower()}"


class SuppressionList:
    """Reads the list from a `StateStore` (the `email-state` component)."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    def __contains__(self, address: object) -> bool:
        """True when `address` must not be mailed."""
        return isinstance(address, str) and self._state.get(key(address)).value is not None
